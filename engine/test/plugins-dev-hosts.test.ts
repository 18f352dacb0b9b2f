import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { createApiKey } from '../src/auth/api-keys.ts';
import { compileConfig } from '../src/config/index.ts';
import type { EngineContext } from '../src/context.ts';
import { createWorkspace } from '../src/crm/workspaces.ts';
import { createApp } from '../src/http/app.ts';
import { createLogger } from '../src/logger.ts';
import { createPluginRuntime, createPluginSandbox, type PluginRuntime } from '../src/plugins/runtime.ts';
import type { SandboxHost } from '../src/sandbox/host.ts';
import { loadSecretKey } from '../src/secrets/key.ts';
import { createSystemClock } from '../src/time/clock.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

/**
 * allowedHosts extended per workspace for development (issue 16, deliverable 9): an admin lists hosts in
 * PUT /v1/settings/plugin-hosts and the sandbox's fetch guard allows them in addition to the manifest's, for that
 * workspace only. Against a real local HTTP server; the plugin's manifest lists only `api.vendor.test`.
 */

let t: TestDatabase;
let ctx: EngineContext;
let app: FastifyInstance;
let plugins: PluginRuntime;
let strict: SandboxHost;
let vendor: Server;
let vendorHost: string;
let hits = 0;
const ws: { id: string; admin: string; editor: string }[] = [];

async function api(key: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
}

const call = (sandbox: SandboxHost, workspaceId: string, url: string) => sandbox.runAction(
  { workspaceId, pluginId: 'devhost', version: '1.0.0' }, 'call',
  { props: { url }, secrets: {}, contact: null, idempotencyKey: `k-${Math.random()}` },
);

beforeAll(async () => {
  vendor = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => vendor.listen(0, '127.0.0.1', r));
  vendorHost = `127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  t = await createTestDatabase();
  const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'f'.repeat(64) });
  ctx = { config, db: t.db, databaseUrl: t.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) };
  // The operator's private-host switch on (a developer's machine), as a local fake API needs.
  plugins = createPluginRuntime(ctx, { fetch: { allowPrivate: true } });
  // The same engine without the switch.
  strict = createPluginSandbox(ctx);
  app = await createApp(ctx, plugins.appOptions);
  await app.ready();
  const built = await buildPlugin(fileURLToPath(new URL('./fixtures/devhost.ts', import.meta.url)));
  for (const slug of ['dev-a', 'dev-b']) {
    const w = await createWorkspace(t.db, { slug: `${slug}-${process.pid}` });
    const admin = (await createApiKey(t.db, { workspaceId: w.id, role: 'admin' })).key;
    const editor = (await createApiKey(t.db, { workspaceId: w.id, role: 'editor' })).key;
    ws.push({ id: w.id, admin, editor });
    expect((await api(admin, 'POST', '/v1/plugins', { manifest: built.manifest, bundle: built.bundle })).status).toBe(201);
  }
});

afterAll(async () => {
  await app?.close();
  await plugins?.close();
  await strict?.close();
  vendor?.closeAllConnections();
  await new Promise((r) => vendor?.close(r));
  await t?.drop();
});

describe('plugin hosts per workspace', () => {
  it('refused before, allowed after the admin lists the host; the other workspace is unaffected', async () => {
    const [a, b] = ws as [typeof ws[0], typeof ws[0]];
    expect((await api(a.admin, 'GET', '/v1/settings/plugin-hosts')).body).toEqual({ hosts: [] });
    const before = await call(plugins.sandbox, a.id, `http://${vendorHost}/deals`);
    expect(before).toMatchObject({ ok: false, error: { code: 'FETCH_HOST_NOT_ALLOWED' } });
    expect(hits).toBe(0);

    const put = await api(a.admin, 'PUT', '/v1/settings/plugin-hosts', { hosts: [vendorHost, 'API.Sandbox.Vendor.test'] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({ hosts: [vendorHost, 'api.sandbox.vendor.test'] });
    expect((await api(a.admin, 'GET', '/v1/settings/plugin-hosts')).body).toEqual(put.body);

    // The warm isolate sees the change at its next fetch: no republish, no reload.
    expect(await call(plugins.sandbox, a.id, `http://${vendorHost}/deals`)).toMatchObject({ ok: true, value: { status: 200 } });
    expect(hits).toBe(1);
    expect(await call(plugins.sandbox, b.id, `http://${vendorHost}/deals`)).toMatchObject({ ok: false, error: { code: 'FETCH_HOST_NOT_ALLOWED' } });
    expect((await api(b.admin, 'GET', '/v1/settings/plugin-hosts')).body).toEqual({ hosts: [] });
    expect(hits).toBe(1);

    // Emptied again: refused again.
    expect((await api(a.admin, 'PUT', '/v1/settings/plugin-hosts', { hosts: [] })).status).toBe(200);
    expect(await call(plugins.sandbox, a.id, `http://${vendorHost}/deals`)).toMatchObject({ ok: false, error: { code: 'FETCH_HOST_NOT_ALLOWED' } });
    expect(hits).toBe(1);
  });

  it('a listed private host still needs the operator switch; the database address stays refused even when listed', async () => {
    const a = ws[0]!;
    const db = new URL(t.url);
    const dbHost = `${db.hostname}:${db.port || '5432'}`;
    expect((await api(a.admin, 'PUT', '/v1/settings/plugin-hosts', { hosts: [vendorHost, dbHost] })).status).toBe(200);
    const noSwitch = await call(strict, a.id, `http://${vendorHost}/deals`);
    expect(noSwitch).toMatchObject({ ok: false, error: { code: 'FETCH_PRIVATE_ADDRESS' } });
    expect(hits).toBe(1);
    const toDb = await call(plugins.sandbox, a.id, `http://${dbHost}/`);
    expect(toDb).toMatchObject({ ok: false, error: { code: 'FETCH_PRIVATE_ADDRESS' } });
    expect(toDb.ok ? '' : toDb.error.message).toContain('a service of the engine itself');
    expect((await api(a.admin, 'PUT', '/v1/settings/plugin-hosts', { hosts: [] })).status).toBe(200);
  });

  it('admin only, and a bad list is a 4xx naming the entry', async () => {
    const a = ws[0]!;
    expect((await api(a.editor, 'PUT', '/v1/settings/plugin-hosts', { hosts: ['localhost:4010'] })).status).toBe(403);
    expect((await api(a.editor, 'GET', '/v1/settings/plugin-hosts')).status).toBe(403);
    for (const hosts of [['*'], ['http://api.vendor.test'], ['a b']]) {
      const res = await api(a.admin, 'PUT', '/v1/settings/plugin-hosts', { hosts });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(JSON.stringify(res.body)).toContain('/hosts/0');
    }
    expect((await api(a.admin, 'GET', '/v1/settings/plugin-hosts')).body).toEqual({ hosts: [] });
  });
});
