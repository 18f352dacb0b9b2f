import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, type BuiltPlugin } from '@cairn/plugin-sdk/build';
import { createApiKey } from '../src/auth/api-keys.ts';
import { createSystemClock } from '../src/time/clock.ts';
import { compileConfig } from '../src/config/index.ts';
import type { EngineContext } from '../src/context.ts';
import { createWorkspace } from '../src/crm/workspaces.ts';
import { CairnError } from '../src/errors.ts';
import { createApp } from '../src/http/app.ts';
import { createLogger } from '../src/logger.ts';
import { coreNodeType } from '../src/flow/node-types.ts';
import { createPluginNodeTypes, pluginCatalogEntries, resolvePluginNodes } from '../src/plugins/flow-plugins.ts';
import { createPluginRuntime, type PluginRuntime } from '../src/plugins/runtime.ts';
import { reencryptCredentials } from '../src/plugins/credentials.ts';
import { rotateCredentialsKey } from '../src/plugins/rotate-key.ts';
import type { ActionInput } from '../src/runner/ports.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

/**
 * The plugin registry over real PostgreSQL and the real API: immutable versions, per-workspace installs,
 * encrypted credentials that never come back out, catalog entries, version pins, and the ActionRegistry
 * that runs `plugin:<id>/<key>` nodes in the sandbox.
 */

const fixture = (name: string) => fileURLToPath(new URL(`../../plugin-sdk/test/fixtures/${name}.ts`, import.meta.url));
const SECRET_TOKEN = 'tok_Zq8sV1mQpL3xR7';
const SECRET_REGION = 'eu-secret-region-42';

let t: TestDatabase;
let ctx: EngineContext;
let app: FastifyInstance;
let runtime: PluginRuntime;
const logs: string[] = [];
const ws: Record<'a' | 'b', { id: string; admin: string; editor: string; viewer: string }> = {} as never;
const built: Record<string, BuiltPlugin> = {};
const secretKey = randomBytes(32);

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const upload = (key: string, b: BuiltPlugin) => app.inject({ method: 'POST', url: '/v1/plugins', headers: auth(key), payload: { manifest: b.manifest, bundle: b.bundle } });
const responses: string[] = [];
const inject = async (opts: InjectOptions) => {
  const res = await app.inject(opts);
  responses.push(res.body);
  return res;
};

function input(over: Partial<ActionInput> = {}): ActionInput {
  return {
    workspaceId: ws.a.id, flowId: 'f1', version: 1, runId: 'run-1', nodeId: 'greet', idempotencyKey: 'run-1:greet', attempt: 1,
    config: { name: 'Ana' }, contact: { id: 'c1', email: 'ana@example.com', properties: {}, tags: [] }, event: null, vars: {},
    signal: new AbortController().signal, ...over,
  };
}

beforeAll(async () => {
  for (const name of ['greeter-1.0.0', 'greeter-1.1.0', 'greeter-1.0.0-changed', 'echo']) built[name] = await buildPlugin(fixture(name));
  t = await createTestDatabase();
  ctx = {
    config: compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'debug', CAIRN_SECRET_KEY: secretKey.toString('hex'), CAIRN_SANDBOX_CPU_MS: '300' }),
    db: t.db,
    databaseUrl: t.url,
    logger: createLogger('debug', { write: (l: string) => void logs.push(l) } as never),
    clock: createSystemClock(),
    secretKey,
  };
  for (const name of ['a', 'b'] as const) {
    const w = await createWorkspace(t.db, { slug: `plugins-${name}-${process.pid}` });
    ws[name] = {
      id: w.id,
      admin: (await createApiKey(t.db, { workspaceId: w.id, role: 'admin' })).key,
      editor: (await createApiKey(t.db, { workspaceId: w.id, role: 'editor' })).key,
      viewer: (await createApiKey(t.db, { workspaceId: w.id, role: 'viewer' })).key,
    };
  }
  app = await createApp(ctx, { pluginCatalog: (id) => pluginCatalogEntries(t.db, id), nodeTypes: createPluginNodeTypes(t.db, coreNodeType) });
  await app.ready();
  runtime = createPluginRuntime(ctx, { secretKey });
});

afterAll(async () => {
  await runtime?.close();
  await app?.close();
  await t?.drop();
});

describe('plugin versions are immutable', () => {
  it('upload 1.0.0 → 201 with the bundle sha256; the same bytes again → 200; other content as 1.0.0 → 409', async () => {
    const first = await upload(ws.a.admin, built['greeter-1.0.0']!);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ id: 'greeter', version: '1.0.0', bundle_sha256: built['greeter-1.0.0']!.sha256 });
    expect((await upload(ws.a.admin, built['greeter-1.0.0']!)).statusCode).toBe(200);
    const changed = await upload(ws.a.admin, built['greeter-1.0.0-changed']!);
    expect(changed.statusCode).toBe(409);
    expect(changed.headers['content-type']).toContain('application/problem+json');
    expect(changed.json().detail).toMatch(/greeter@1\.0\.0 is already published with other content/);
    const row = await t.db('plugin_versions').where({ workspace_id: ws.a.id, plugin_id: 'greeter', version: '1.0.0' }).first();
    expect(row.bundle_sha256).toBe(built['greeter-1.0.0']!.sha256);
  });

  it('Idempotency-Key: a repeat answers the first result, another body under the same key is 409', async () => {
    const c = await createWorkspace(t.db, { slug: `plugins-c-${process.pid}` });
    const admin = (await createApiKey(t.db, { workspaceId: c.id, role: 'admin' })).key;
    const send = (b: BuiltPlugin) => app.inject({ method: 'POST', url: '/v1/plugins', headers: { ...auth(admin), 'idempotency-key': 'upload-echo-1' }, payload: { manifest: b.manifest, bundle: b.bundle } });
    const first = await send(built.echo!);
    expect(first.statusCode).toBe(201);
    const repeat = await send(built.echo!);
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json()).toEqual(first.json());
    expect((await send(built['greeter-1.0.0']!)).statusCode).toBe(409);
    expect(await t.db('plugin_versions').where({ workspace_id: c.id }).count<{ n: number }[]>('* as n')).toEqual([{ n: 1 }]);
  });

  it('only admins upload; a bad manifest is 400 with JSON Pointers; a manifest that lies about its bundle is 422', async () => {
    expect((await upload(ws.a.editor, built['greeter-1.1.0']!)).statusCode).toBe(403);
    const bad = await app.inject({ method: 'POST', url: '/v1/plugins', headers: auth(ws.a.admin), payload: { manifest: { ...built.echo!.manifest, id: 'Bad Id', version: 'one' }, bundle: built.echo!.bundle } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path).sort()).toEqual(['/manifest/id', '/manifest/version']);
    const lying = await app.inject({ method: 'POST', url: '/v1/plugins', headers: auth(ws.a.admin), payload: { manifest: { ...built.echo!.manifest, allowedHosts: ['*.example.com'] }, bundle: built.echo!.bundle } });
    expect(lying.statusCode).toBe(422);
    expect(lying.json().errors[0].path).toBe('/manifest');
    const notJs = await app.inject({ method: 'POST', url: '/v1/plugins', headers: auth(ws.a.admin), payload: { manifest: built.echo!.manifest, bundle: 'this is not javascript' } });
    expect(notJs.statusCode).toBe(422);
    expect(notJs.json().errors[0].path).toBe('/bundle');
  });

  it('a flow pinned to 1.0.0 keeps running 1.0.0 after 1.1.0 is published; a first publication pins 1.1.0, a republication keeps 1.0.0', async () => {
    const pinnedAtPublish = await resolvePluginNodes(t.db, ws.a.id, [{ id: 'greet', type: 'plugin:greeter/greet', config: { name: 'Ana' } }]);
    expect(pinnedAtPublish).toEqual({ pins: { greeter: '1.0.0' }, errors: [] });
    expect((await upload(ws.a.admin, built['greeter-1.1.0']!)).statusCode).toBe(201);
    const old = await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.a.id, pluginPins: pinnedAtPublish.pins });
    expect((await old!.run(input())).output).toMatchObject({ text: 'Hello, Ana', version: '1.0.0' });
    const kept = await resolvePluginNodes(t.db, ws.a.id, [{ id: 'greet', type: 'plugin:greeter/greet', config: { name: 'Ana' } }], pinnedAtPublish.pins);
    expect(kept.pins).toEqual({ greeter: '1.0.0' });
    const republished = await resolvePluginNodes(t.db, ws.a.id, [{ id: 'greet', type: 'plugin:greeter/greet', config: { name: 'Ana' } }]);
    expect(republished.pins).toEqual({ greeter: '1.1.0' });
    const fresh = await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.a.id, pluginPins: republished.pins });
    expect((await fresh!.run(input())).output).toMatchObject({ text: 'Howdy, Ana', version: '1.1.0' });
  });
});

describe('installs, catalog and publish-time checks', () => {
  it('GET /v1/plugins lists this workspace only; the catalog lists enabled plugin actions with their props schema', async () => {
    const list = await inject({ method: 'GET', url: '/v1/plugins', headers: auth(ws.a.viewer) });
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toMatchObject([{ id: 'greeter', enabled: true, current_version: '1.1.0', versions: [{ version: '1.1.0' }, { version: '1.0.0' }] }]);
    // The credentials' JSON Schema (the manifest's auth) is listed for the builder's form; no value ever is.
    expect(list.json().items[0].credentials.schema).toEqual(built['greeter-1.1.0']!.manifest.auth ?? null);
    expect((await app.inject({ method: 'GET', url: '/v1/plugins', headers: auth(ws.b.admin) })).json().items).toEqual([]);
    const catalog = await app.inject({ method: 'GET', url: '/v1/catalog', headers: auth(ws.a.viewer) });
    const node = catalog.json().nodes.find((n: { type: string }) => n.type === 'plugin:greeter/greet');
    expect(node).toMatchObject({ title: 'Greeter: Greet', category: 'action', handles: { in: true, out: ['default', 'error'] } });
    expect(node.config_schema.properties.name).toEqual({ type: 'string', minLength: 1 });
    expect(node.config_schema.properties.retry).toBeDefined();
    expect((await app.inject({ method: 'GET', url: '/v1/catalog', headers: auth(ws.b.viewer) })).json().nodes.some((n: { type: string }) => n.type.startsWith('plugin:'))).toBe(false);
  });

  it('props are validated at publish time (paths into the flow document) and a disabled plugin leaves the catalog', async () => {
    const r = await resolvePluginNodes(t.db, ws.a.id, [
      { id: 'start', type: 'trigger.event', config: {} },
      { id: 'g', type: 'plugin:greeter/greet', config: { name: '', times: 9, extra: 1 } },
      { id: 'x', type: 'plugin:nope/greet', config: {} },
    ]);
    expect(r.errors.map((e) => [e.node_id, e.path])).toEqual(expect.arrayContaining([['g', '/nodes/1/config/name'], ['g', '/nodes/1/config/times'], ['g', '/nodes/1/config'], ['x', '/nodes/2/type']]));
    expect((await app.inject({ method: 'POST', url: '/v1/plugins/greeter/disable', headers: auth(ws.a.admin) })).statusCode).toBe(200);
    expect(await pluginCatalogEntries(t.db, ws.a.id)).toEqual([]);
    const disabled = await resolvePluginNodes(t.db, ws.a.id, [{ id: 'g', type: 'plugin:greeter/greet', config: { name: 'A' } }]);
    expect(disabled.errors[0]!.message).toMatch(/disabled/);
    const run = await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.a.id, pluginPins: { greeter: '1.1.0' } });
    await expect(run!.run(input())).rejects.toMatchObject({ code: 'CAIRN_ERR_STEP_FAILED', message: expect.stringMatching(/disabled/) });
    expect((await app.inject({ method: 'POST', url: '/v1/plugins/greeter/enable', headers: auth(ws.a.admin) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/plugins/nope/enable', headers: auth(ws.a.admin) })).statusCode).toBe(404);
  });

  it('props are validated again before each call; limit breaches are USER errors naming plugin, action and limit', async () => {
    const action = await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.a.id, pluginPins: {} });
    const err = await action!.run(input({ config: { name: 42 } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CairnError);
    expect(err).toMatchObject({ code: 'CAIRN_ERR_STEP_FAILED', errorClass: 'USER', retryable: false, errors: [{ path: '/config/name', node_id: 'greet' }] });
    const spin = await runtime.actions.resolve('plugin:greeter/spin', { workspaceId: ws.a.id, pluginPins: {} });
    const limit = await spin!.run(input({ config: {}, nodeId: 'spin' })).catch((e: unknown) => e);
    expect(limit).toMatchObject({ code: 'CAIRN_ERR_PLUGIN_LIMIT', errorClass: 'USER', retryable: false });
    expect((limit as Error).message).toMatch(/action spin of plugin greeter@1\.1\.0 exceeded its cpu time limit \(300 ms\)/);
    // The retry config next to the props is the engine's, not the plugin's.
    expect((await action!.run(input({ config: { name: 'Bo', retry: { max_attempts: 2, backoff: 'PT1S' } } }))).output).toMatchObject({ text: 'Howdy, Bo' });
    expect(await runtime.actions.resolve('plugin:greeter/nope', { workspaceId: ws.a.id, pluginPins: {} })).toBeUndefined();
    expect(await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.b.id, pluginPins: {} })).toBeUndefined();
  });
});

describe('credentials', () => {
  it('are validated against the auth schema, with paths, never echoing values', async () => {
    const bad = await inject({ method: 'PUT', url: '/v1/plugins/greeter/credentials', headers: auth(ws.a.admin), payload: { api_token: 'short', region: 7 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path).sort()).toEqual(['/api_token', '/region']);
    expect(bad.body).not.toContain('short');
    expect((await inject({ method: 'PUT', url: '/v1/plugins/greeter/credentials', headers: auth(ws.a.editor), payload: { api_token: SECRET_TOKEN } })).statusCode).toBe(403);
    expect((await inject({ method: 'PUT', url: '/v1/plugins/greeter/credentials', headers: auth(ws.b.admin), payload: { api_token: SECRET_TOKEN } })).statusCode).toBe(404);
  });

  it('are stored encrypted: no plaintext in any column of any table, in the logs, or in any API answer', async () => {
    const put = await inject({ method: 'PUT', url: '/v1/plugins/greeter/credentials', headers: auth(ws.a.admin), payload: { api_token: SECRET_TOKEN, region: SECRET_REGION } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ fields_set: ['api_token', 'region'] });
    const get = await inject({ method: 'GET', url: '/v1/plugins/greeter/credentials', headers: auth(ws.a.admin) });
    expect(get.json()).toMatchObject({ fields_set: ['api_token', 'region'] });
    await inject({ method: 'GET', url: '/v1/plugins', headers: auth(ws.a.admin) });
    // The plugin does get them, in the sandbox, and returns only their shape.
    const action = await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.a.id, pluginPins: {} });
    expect((await action!.run(input())).output).toMatchObject({ token_length: SECRET_TOKEN.length, fields: ['api_token', 'region'] });

    // Every text-like column of every table, as text.
    const cols = await t.db.raw(`SELECT table_schema, table_name, column_name FROM information_schema.columns
      WHERE table_schema IN ('public', 'graphile_worker') AND data_type IN ('text', 'jsonb', 'json', 'ARRAY', 'character varying', 'bytea')`);
    let scanned = 0;
    for (const c of cols.rows as { table_schema: string; table_name: string; column_name: string }[]) {
      const hit = await t.db.raw(`SELECT count(*)::int AS n FROM "${c.table_schema}"."${c.table_name}" WHERE "${c.column_name}"::text LIKE ? OR "${c.column_name}"::text LIKE ?`, [`%${SECRET_TOKEN}%`, `%${SECRET_REGION}%`]);
      expect(hit.rows[0].n, `${c.table_name}.${c.column_name}`).toBe(0);
      scanned++;
    }
    expect(scanned).toBeGreaterThan(20);
    const sealed = await t.db('plugin_credentials').where({ workspace_id: ws.a.id, plugin_id: 'greeter' }).first();
    expect(sealed.ciphertext).toMatch(/^v1\./);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(SECRET_TOKEN);
    expect(logs.join('\n')).not.toContain(SECRET_REGION);
    expect(responses.join('\n')).not.toContain(SECRET_TOKEN);
    expect(responses.join('\n')).not.toContain(SECRET_REGION);
  });

  it("a plugin never sees another workspace's or another plugin's credentials", async () => {
    await upload(ws.b.admin, built['greeter-1.0.0']!);
    await upload(ws.a.admin, built.echo!);
    const inB = await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.b.id, pluginPins: {} });
    expect((await inB!.run(input({ workspaceId: ws.b.id }))).output).toMatchObject({ token_length: 0, fields: [] });
    const echo = await runtime.actions.resolve('plugin:echo/greet', { workspaceId: ws.a.id, pluginPins: {} });
    expect((await echo!.run(input({ config: { greeting: 'Hi' } }))).output).toEqual({ text: 'Hi, ana@example.com', secrets: [] });
  });

  it('key rotation re-seals every credential under the new key; the old key then reads nothing', async () => {
    const newKey = randomBytes(32);
    expect(await reencryptCredentials(t.db, secretKey, newKey)).toBe(1);
    expect(await reencryptCredentials(t.db, secretKey, newKey)).toBe(0);
    const rotated = createPluginRuntime(ctx, { secretKey: newKey });
    try {
      const a = await rotated.actions.resolve('plugin:greeter/greet', { workspaceId: ws.a.id, pluginPins: {} });
      expect((await a!.run(input())).output).toMatchObject({ token_length: SECRET_TOKEN.length });
      const stale = await runtime.actions.resolve('plugin:greeter/greet', { workspaceId: ws.a.id, pluginPins: {} });
      await expect(stale!.run(input())).rejects.toThrow(/encrypted with another key/);
      // The operator's script does the same, and back again.
      const lines: string[] = [];
      expect(await rotateCredentialsKey(['--old-key', newKey.toString('hex')], (l) => void lines.push(l), { DATABASE_URL: t.url, CAIRN_SECRET_KEY: secretKey.toString('base64') })).toBe(0);
      expect(lines).toContain('re-sealed 1 plugin credential(s) under the new key');
      expect((await stale!.run(input())).output).toMatchObject({ token_length: SECRET_TOKEN.length });
      expect(await rotateCredentialsKey([], () => {}, { DATABASE_URL: t.url })).toBe(2);
    } finally {
      await rotated.close();
    }
  });
});
