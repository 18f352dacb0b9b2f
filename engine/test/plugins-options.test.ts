import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { loadPlugin } from '@cairn/plugin-sdk/testing';
import { createApiKey } from '../src/auth/api-keys.ts';
import { compileConfig } from '../src/config/index.ts';
import type { EngineContext } from '../src/context.ts';
import { createWorkspace } from '../src/crm/workspaces.ts';
import { createApp } from '../src/http/app.ts';
import { createLogger } from '../src/logger.ts';
import { createPluginRuntime, type PluginRuntime } from '../src/plugins/runtime.ts';
import { loadSecretKey } from '../src/secrets/key.ts';
import { createSystemClock } from '../src/time/clock.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

/**
 * Dynamic options (issue 16, deliverable 6) through the real route POST /v1/plugins/{id}/actions/{key}/options/{prop}:
 * the plugin's options function runs sandboxed with the workspace's credentials against a real local fake vendor;
 * errors are redacted, answers bounded, viewers refused.
 */

const TOKEN = 'pd-secret-token-4f7a9c2e';
let t: TestDatabase;
let app: FastifyInstance;
let plugins: PluginRuntime;
let vendor: Server;
let vendorUrl: string;
let admin: string;
let editor: string;
let viewer: string;
const seen: (string | undefined)[] = [];

async function api(key: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null, text: res.body };
}

beforeAll(async () => {
  vendor = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ id: 1, name: 'Sales' }, { id: 2, name: 'Renewals' }] }));
  });
  await new Promise<void>((r) => vendor.listen(0, '127.0.0.1', r));
  vendorUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  t = await createTestDatabase();
  const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'a'.repeat(64) });
  const ctx: EngineContext = { config, db: t.db, databaseUrl: t.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) };
  plugins = createPluginRuntime(ctx, { fetch: { testHosts: [new URL(vendorUrl).host] } });
  app = await createApp(ctx, plugins.appOptions);
  await app.ready();
  const ws = await createWorkspace(t.db, { slug: `options-${process.pid}` });
  admin = (await createApiKey(t.db, { workspaceId: ws.id, role: 'admin' })).key;
  editor = (await createApiKey(t.db, { workspaceId: ws.id, role: 'editor' })).key;
  viewer = (await createApiKey(t.db, { workspaceId: ws.id, role: 'viewer' })).key;
  const built = await buildPlugin(fileURLToPath(new URL('./fixtures/pipelines.ts', import.meta.url)));
  expect((await api(admin, 'POST', '/v1/plugins', { manifest: built.manifest, bundle: built.bundle })).status).toBe(201);
  expect((await api(admin, 'PUT', '/v1/plugins/pipelines/credentials', { api_token: TOKEN, base_url: vendorUrl })).status).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await plugins?.close();
  vendor?.closeAllConnections();
  await new Promise((r) => vendor?.close(r));
  await t?.drop();
});

describe('dynamic options', () => {
  it("an editor gets the vendor's pipelines, fetched with the workspace's token", async () => {
    const r = await api(editor, 'POST', '/v1/plugins/pipelines/actions/create_deal/options/pipeline', {});
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true, choices: [{ value: '1', label: 'Sales' }, { value: '2', label: 'Renewals' }] });
    expect(seen).toEqual([`Bearer ${TOKEN}`]);
  });

  it("a failing options function answers its code and a redacted message; too many choices are refused; viewers may not", async () => {
    const failed = await api(admin, 'POST', '/v1/plugins/pipelines/actions/create_deal/options/stage', {});
    expect(failed.status).toBe(200);
    expect(failed.body.ok).toBe(false);
    expect(failed.body.message).toContain('the vendor refused token');
    expect(failed.text).not.toContain(TOKEN);
    const many = await api(admin, 'POST', '/v1/plugins/pipelines/actions/create_deal/options/title', {});
    expect(many.body).toMatchObject({ ok: false, code: 'PLUGIN_BAD_OPTIONS' });
    expect(many.body.message).toContain('at most 1000');
    expect((await api(viewer, 'POST', '/v1/plugins/pipelines/actions/create_deal/options/pipeline', {})).status).toBe(403);
  });

  it('a prop without options is 422, an unknown action or plugin 404, a bad prop name 400', async () => {
    expect((await api(admin, 'POST', '/v1/plugins/pipelines/actions/create_deal/options/nothing', {})).status).toBe(422);
    expect((await api(admin, 'POST', '/v1/plugins/pipelines/actions/nope/options/pipeline', {})).status).toBe(404);
    expect((await api(admin, 'POST', '/v1/plugins/absent/actions/create_deal/options/pipeline', {})).status).toBe(404);
    expect((await api(admin, 'POST', '/v1/plugins/pipelines/actions/create_deal/options/a-b', {})).status).toBe(400);
  });

  it('the test harness runs the same options function: plugin.options(action, prop)', async () => {
    const plugin = await loadPlugin({ entry: fileURLToPath(new URL('./fixtures/pipelines.ts', import.meta.url)), secrets: { api_token: TOKEN, base_url: vendorUrl }, testHosts: [new URL(vendorUrl).host] });
    try {
      expect(await plugin.options('create_deal', 'pipeline')).toEqual([{ value: '1', label: 'Sales' }, { value: '2', label: 'Renewals' }]);
      await expect(plugin.options('create_deal', 'title')).rejects.toThrow('at most 1000');
    } finally {
      await plugin.dispose();
    }
  });
});
