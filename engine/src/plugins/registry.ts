import { createHash } from 'node:crypto';
import { parseSourceMap, PluginIsolate, type PluginManifest, type SandboxLimits } from '@cairn/plugin-sdk/host';
import type { Db, Tx } from '../db/index.ts';
import { CairnError, conflict, invalid, notFound } from '../errors.ts';
import { checkManifest, compareSemver, parseSemver, sameDeclaration } from './manifest.ts';

/**
 * The plugin registry of a workspace, in PostgreSQL. Versions are immutable: (plugin, version) is written
 * once, with the sha256 of its bundle; uploading the same bytes again is a no-op (200), other bytes 409.
 * Installing is per workspace: `plugin_installs` says whether it is enabled and which version new flow
 * publications pin.
 */

export interface PublishOutcome {
  status: 200 | 201;
  plugin: { id: string; version: string; bundle_sha256: string };
}

const MAX_BUNDLE_BYTES = 5 * 1024 * 1024;

/** Validates manifest and bundle (loading the bundle in a throwaway sandbox), then records the version. */
export async function publishPluginVersion(
  db: Db | Tx,
  workspaceId: string,
  body: { manifest: unknown; bundle: unknown; source_map?: unknown },
  limits: SandboxLimits,
  now: Date,
): Promise<PublishOutcome> {
  const problems = checkManifest(body.manifest);
  if (typeof body.bundle !== 'string' || body.bundle.length === 0) problems.push({ path: '/bundle', message: 'must be the built bundle (plugin.js) as a string' });
  else if (Buffer.byteLength(body.bundle) > MAX_BUNDLE_BYTES) problems.push({ path: '/bundle', message: `is larger than ${MAX_BUNDLE_BYTES} bytes` });
  const sourceMap = body.source_map ?? null;
  if (sourceMap !== null) {
    try {
      if (typeof sourceMap !== 'string') throw new TypeError('must be the source map (plugin.js.map) as a string');
      parseSourceMap(sourceMap);
    } catch (err) {
      problems.push({ path: '/source_map', message: (err as Error).message });
    }
  }
  if (problems.length) throw invalid(`the plugin is not valid: ${problems[0]!.path} ${problems[0]!.message}`, problems);
  const manifest = body.manifest as PluginManifest;
  const bundle = body.bundle as string;
  const sha = createHash('sha256').update(bundle).digest('hex');

  const existing = await db('plugin_versions').where({ workspace_id: workspaceId, plugin_id: manifest.id, version: manifest.version }).first<{ bundle_sha256: string; manifest: PluginManifest }>('bundle_sha256', 'manifest');
  if (existing) return sameUpload(existing, manifest, sha);

  let declared: PluginManifest;
  try {
    const isolate = await PluginIsolate.load(bundle, limits, {
      store: { get: async () => undefined, set: async () => {}, delete: async () => {} },
      log: () => {},
      fetch: { privateHosts: [], timeoutMs: 1, maxResponseBytes: 0, maxRedirects: 0 },
    });
    declared = isolate.manifest;
    isolate.dispose();
  } catch (err) {
    throw new CairnError('CAIRN_ERR_UNPROCESSABLE', `the bundle does not load in the sandbox: ${(err as Error).message}`, { errors: [{ path: '/bundle', message: (err as Error).message }] });
  }
  if (!sameDeclaration(declared, manifest)) {
    throw new CairnError('CAIRN_ERR_UNPROCESSABLE', 'manifest.json does not match what the bundle declares; rebuild with cairn-plugin build', {
      errors: [{ path: '/manifest', message: `the bundle declares ${declared.id}@${declared.version} with actions ${declared.actions.map((a) => a.key).join(', ')}` }],
    });
  }
  const v = parseSemver(manifest.version)!;
  return db.transaction(async (tx) => {
    const inserted = await tx.raw(
      `INSERT INTO plugin_versions (workspace_id, plugin_id, version, major, minor, patch, prerelease, manifest, bundle, bundle_sha256, source_map, published_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1`,
      [workspaceId, manifest.id, manifest.version, v.major, v.minor, v.patch, v.prerelease, JSON.stringify(manifest), bundle, sha, sourceMap as string | null, now],
    );
    if (inserted.rowCount === 0) {
      // A concurrent upload of the same version won; compare with it.
      const row = await tx('plugin_versions').where({ workspace_id: workspaceId, plugin_id: manifest.id, version: manifest.version }).first('bundle_sha256', 'manifest');
      return sameUpload(row, manifest, sha);
    }
    await advanceCurrent(tx, workspaceId, manifest.id, manifest.version, now);
    return { status: 201 as const, plugin: { id: manifest.id, version: manifest.version, bundle_sha256: sha } };
  });
}

function sameUpload(existing: { bundle_sha256: string; manifest: PluginManifest }, manifest: PluginManifest, sha: string): PublishOutcome {
  // The bundle determines the manifest (checked at first upload), so equal bytes mean an equal upload.
  if (existing.bundle_sha256 !== sha || !sameDeclaration(existing.manifest, manifest)) {
    throw conflict(`${manifest.id}@${manifest.version} is already published with other content (bundle sha256 ${existing.bundle_sha256}); versions are immutable, publish a new version`);
  }
  return { status: 200, plugin: { id: manifest.id, version: manifest.version, bundle_sha256: sha } };
}

/** A new version becomes current when it is newer than the current one (a pre-release never replaces a release). */
async function advanceCurrent(tx: Tx, workspaceId: string, pluginId: string, version: string, now: Date): Promise<void> {
  const install = await tx('plugin_installs').where({ workspace_id: workspaceId, plugin_id: pluginId }).forUpdate().first<{ current_version: string }>('current_version');
  if (!install) {
    await tx('plugin_installs').insert({ workspace_id: workspaceId, plugin_id: pluginId, enabled: true, current_version: version, updated_at: now });
    return;
  }
  const isPre = parseSemver(version)!.prerelease !== '';
  if (compareSemver(version, install.current_version) > 0 && (!isPre || parseSemver(install.current_version)!.prerelease !== '')) {
    await tx('plugin_installs').where({ workspace_id: workspaceId, plugin_id: pluginId }).update({ current_version: version, updated_at: now });
  }
}

export interface PluginSummary {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  current_version: string;
  versions: { version: string; bundle_sha256: string; published_at: string }[];
  actions: { key: string; title: string; type: string }[];
  triggers: { key: string; title: string; type: 'webhook' | 'polling' }[];
  /** The JSON Schema of the credentials the plugin takes (its manifest's `auth`), for forms; never any value. */
  credentials: { fields_set: string[]; schema: Record<string, unknown> | null; method: 'api_key' | 'basic' | 'oauth2' | null; test: boolean; connected: boolean };
}

export async function listPlugins(db: Db, workspaceId: string): Promise<PluginSummary[]> {
  const installs = await db('plugin_installs').where({ workspace_id: workspaceId }).orderBy('plugin_id').select<{ plugin_id: string; enabled: boolean; current_version: string }[]>('plugin_id', 'enabled', 'current_version');
  const versions = await db('plugin_versions').where({ workspace_id: workspaceId })
    .orderBy([{ column: 'plugin_id' }, { column: 'major', order: 'desc' }, { column: 'minor', order: 'desc' }, { column: 'patch', order: 'desc' }])
    .select<{ plugin_id: string; version: string; bundle_sha256: string; published_at: Date; manifest: PluginManifest }[]>('plugin_id', 'version', 'bundle_sha256', 'published_at', 'manifest');
  const creds = await db('plugin_credentials').where({ workspace_id: workspaceId }).select<{ plugin_id: string; fields: string[] }[]>('plugin_id', 'fields');
  const connected = new Set((await db('plugin_oauth_tokens').where({ workspace_id: workspaceId }).select<{ plugin_id: string }[]>('plugin_id')).map((r) => r.plugin_id));
  return installs.map((i) => {
    const mine = versions.filter((v) => v.plugin_id === i.plugin_id);
    const current = mine.find((v) => v.version === i.current_version)!.manifest;
    return {
      id: i.plugin_id,
      name: current.name,
      description: current.description,
      enabled: i.enabled,
      current_version: i.current_version,
      versions: mine.map((v) => ({ version: v.version, bundle_sha256: v.bundle_sha256, published_at: v.published_at.toISOString() })),
      actions: current.actions.map((a) => ({ key: a.key, title: a.title, type: `plugin:${i.plugin_id}/${a.key}` })),
      triggers: (current.triggers ?? []).map((t) => ({ key: t.key, title: t.title, type: t.type ?? 'webhook' })),
      credentials: {
        fields_set: creds.find((c) => c.plugin_id === i.plugin_id)?.fields ?? [],
        schema: (current.auth as Record<string, unknown> | undefined) ?? null,
        method: current.authMethod?.kind ?? null,
        test: current.authMethod?.test ?? false,
        connected: connected.has(i.plugin_id),
      },
    };
  });
}

export async function setPluginEnabled(db: Db, workspaceId: string, pluginId: string, enabled: boolean, now: Date): Promise<void> {
  const n = await db('plugin_installs').where({ workspace_id: workspaceId, plugin_id: pluginId }).update({ enabled, updated_at: now });
  if (n === 0) throw notFound(`plugin ${pluginId}`);
}

export interface InstalledPlugin {
  pluginId: string;
  enabled: boolean;
  currentVersion: string;
}

export async function getInstall(db: Db | Tx, workspaceId: string, pluginId: string): Promise<InstalledPlugin | null> {
  const row = await db('plugin_installs').where({ workspace_id: workspaceId, plugin_id: pluginId }).first<{ enabled: boolean; current_version: string } | undefined>('enabled', 'current_version');
  return row ? { pluginId, enabled: row.enabled, currentVersion: row.current_version } : null;
}

export async function getManifest(db: Db | Tx, workspaceId: string, pluginId: string, version: string): Promise<PluginManifest | null> {
  const row = await db('plugin_versions').where({ workspace_id: workspaceId, plugin_id: pluginId, version }).first<{ manifest: PluginManifest } | undefined>('manifest');
  return row?.manifest ?? null;
}

export async function getBundle(db: Db, workspaceId: string, pluginId: string, version: string): Promise<{ bundle: string; sha256: string } | null> {
  const row = await db('plugin_versions').where({ workspace_id: workspaceId, plugin_id: pluginId, version }).first<{ bundle: string; bundle_sha256: string } | undefined>('bundle', 'bundle_sha256');
  return row ? { bundle: row.bundle, sha256: row.bundle_sha256 } : null;
}
