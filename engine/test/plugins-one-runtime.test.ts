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
import { createPluginRuntime, type PluginRuntime } from '../src/plugins/runtime.ts';
import { loadSecretKey } from '../src/secrets/key.ts';
import { createSystemClock } from '../src/time/clock.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

/**
 * One plugin runtime: an inbound webhook trigger runs in the runtime's own sandbox host (the one built with the
 * database address denied and the private-host switch), not in a second host the route builds without them.
 */
let t: TestDatabase;
let plugins: PluginRuntime;
let app: FastifyInstance;
let workspaceId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'f'.repeat(64) });
  const ctx: EngineContext = { config, db: t.db, databaseUrl: t.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) };
  plugins = createPluginRuntime(ctx);
  app = await createApp(ctx, plugins.appOptions);
  await app.ready();
  workspaceId = (await createWorkspace(t.db, { slug: `one-runtime-${process.pid}` })).id;
  const admin = (await createApiKey(t.db, { workspaceId, role: 'admin' })).key;
  const stripe = await buildPlugin(fileURLToPath(new URL('../../plugins/stripe/src/index.ts', import.meta.url)));
  const up = await app.inject({ method: 'POST', url: '/v1/plugins', headers: { authorization: `Bearer ${admin}` }, payload: { manifest: stripe.manifest, bundle: stripe.bundle } });
  expect(up.statusCode).toBe(201);
});
afterAll(async () => {
  await app?.close();
  await plugins?.close();
  await t?.drop();
});

describe('plugin webhook triggers', () => {
  it('run in the plugin runtime\'s sandbox host (the guarded one), through the real HTTP route', async () => {
    expect(plugins.sandbox.stats().loads).toBe(0);
    const res = await app.inject({
      method: 'POST', url: `/v1/hooks/${workspaceId}/plugins/stripe/checkout_completed`,
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' }, payload: '{}',
    });
    expect(res.statusCode).toBe(400); // verified (and refused) by the plugin, inside the sandbox
    expect(plugins.sandbox.stats().loads).toBe(1);
    expect(plugins.sandbox.stats().isolates).toBe(1);
  });
});
