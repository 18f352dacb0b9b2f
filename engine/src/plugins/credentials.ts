import type { Db } from '../db/index.ts';
import { CairnError, invalid, notFound } from '../errors.ts';
import { decryptSecret, encryptSecret, keyId } from '../secrets/seal.ts';
import { pluginAjv, toProblems } from './manifest.ts';
import { getInstall, getManifest } from './registry.ts';

/**
 * A workspace's credentials for a plugin: validated against the plugin's `auth` schema, sealed with
 * AES-256-GCM (bound to workspace and plugin), never returned. Reads only say which fields are set.
 */

const aad = (workspaceId: string, pluginId: string) => `cairn-credentials/${workspaceId}/${pluginId}`;

export async function putCredentials(db: Db, key: Buffer, workspaceId: string, pluginId: string, values: unknown, now: Date): Promise<{ fields_set: string[] }> {
  const install = await getInstall(db, workspaceId, pluginId);
  if (!install) throw notFound(`plugin ${pluginId}`);
  const manifest = (await getManifest(db, workspaceId, pluginId, install.currentVersion))!;
  if (!manifest.auth) throw new CairnError('CAIRN_ERR_UNPROCESSABLE', `plugin ${pluginId} takes no credentials (its manifest has no auth schema)`);
  const validate = pluginAjv.compile(manifest.auth);
  const problems = validate(values) ? [] : toProblems(validate.errors, '');
  if (!problems.length && (values === null || typeof values !== 'object' || Array.isArray(values))) problems.push({ path: '', message: 'must be an object of credential fields' });
  if (!problems.length) {
    for (const [k, v] of Object.entries(values as Record<string, unknown>)) if (typeof v !== 'string') problems.push({ path: `/${k}`, message: 'must be a string' });
  }
  // Messages name fields, never values: ajv messages do not echo input, and neither do ours.
  if (problems.length) throw invalid(`the credentials do not match the auth schema of ${pluginId}: ${problems[0]!.path} ${problems[0]!.message}`, problems);
  const fields = Object.keys(values as object).sort();
  const sealed = encryptSecret(key, JSON.stringify(values), aad(workspaceId, pluginId));
  await db.raw(
    `INSERT INTO plugin_credentials (workspace_id, plugin_id, fields, key_id, ciphertext, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id, plugin_id) DO UPDATE SET fields = EXCLUDED.fields, key_id = EXCLUDED.key_id, ciphertext = EXCLUDED.ciphertext, updated_at = EXCLUDED.updated_at`,
    [workspaceId, pluginId, fields, keyId(key), sealed, now],
  );
  return { fields_set: fields };
}

export async function credentialFields(db: Db, workspaceId: string, pluginId: string): Promise<{ fields_set: string[]; updated_at: string | null }> {
  const install = await getInstall(db, workspaceId, pluginId);
  if (!install) throw notFound(`plugin ${pluginId}`);
  const row = await db('plugin_credentials').where({ workspace_id: workspaceId, plugin_id: pluginId }).first<{ fields: string[]; updated_at: Date } | undefined>('fields', 'updated_at');
  return { fields_set: row?.fields ?? [], updated_at: row?.updated_at.toISOString() ?? null };
}

/** Decrypted credentials for a sandbox call ({} when none are stored). */
export async function loadCredentials(db: Db, key: Buffer, workspaceId: string, pluginId: string): Promise<Record<string, string>> {
  const row = await db('plugin_credentials').where({ workspace_id: workspaceId, plugin_id: pluginId }).first<{ key_id: string; ciphertext: string } | undefined>('key_id', 'ciphertext');
  if (!row) return {};
  if (row.key_id !== keyId(key)) {
    throw new CairnError('CAIRN_ERR_STEP_FAILED', `the credentials of plugin ${pluginId} were encrypted with another key (key id ${row.key_id}); run the key rotation with the old key or store them again`);
  }
  return JSON.parse(decryptSecret(key, row.ciphertext, aad(workspaceId, pluginId))) as Record<string, string>;
}

/**
 * Key rotation: re-seals every credential sealed with `oldKey` under `newKey`, in one transaction (rows
 * already under `newKey` are left alone, so a rerun after an interruption is safe). Returns the count.
 */
export async function reencryptCredentials(db: Db, oldKey: Buffer, newKey: Buffer): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx('plugin_credentials').where({ key_id: keyId(oldKey) }).forUpdate().select<{ workspace_id: string; plugin_id: string; ciphertext: string }[]>('workspace_id', 'plugin_id', 'ciphertext');
    for (const r of rows) {
      const plain = decryptSecret(oldKey, r.ciphertext, aad(r.workspace_id, r.plugin_id));
      await tx('plugin_credentials').where({ workspace_id: r.workspace_id, plugin_id: r.plugin_id })
        .update({ key_id: keyId(newKey), ciphertext: encryptSecret(newKey, plain, aad(r.workspace_id, r.plugin_id)) });
    }
    return rows.length;
  });
}

/** Deletes the workspace's credentials for a plugin; true when there were some. */
export async function deleteCredentials(db: Db, workspaceId: string, pluginId: string): Promise<boolean> {
  const install = await getInstall(db, workspaceId, pluginId);
  if (!install) throw notFound(`plugin ${pluginId}`);
  return (await db('plugin_credentials').where({ workspace_id: workspaceId, plugin_id: pluginId }).delete()) > 0;
}
