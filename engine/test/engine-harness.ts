import type { FastifyInstance } from 'fastify';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { compileConfig } from '../src/config/index.ts';
import { createLogger } from '../src/logger.ts';
import { createManualClock, createSystemClock, type Clock } from '../src/time/clock.ts';
import type { EngineContext } from '../src/context.ts';
import { createApp } from '../src/http/app.ts';
import { createPluginRuntime, type PluginRuntime } from '../src/plugins/runtime.ts';
import type { FlowEngine } from '../src/runner/index.ts';
import { wireFlowEngine } from '../src/runtime.ts';
import type { SandboxFetchOptions } from '../src/sandbox/host.ts';
import { createWorkspace } from '../src/crm/workspaces.ts';
import { createApiKey } from '../src/auth/api-keys.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { EXAMPLES_DIR } from '../src/flow/examples.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSecretKey } from '../src/secrets/key.ts';

export interface Harness {
  t: TestDatabase;
  ctx: EngineContext;
  engine: FlowEngine;
  app: FastifyInstance;
  workspaceId: string;
  key: string;
  /** `app.inject` with the admin key and JSON. */
  call(method: string, url: string, body?: unknown, key?: string): Promise<{ status: number; body: any }>;
  /** Serves the app on 127.0.0.1 (a free port) for clients that need real HTTP, such as the CLI; returns its base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  clock?: 'manual' | 'system';
  /** Where the manual clock starts (default 2026-03-02T09:00:00Z). */
  startAt?: Date;
  workers?: boolean;
  env?: Record<string, string>;
  /** Every engine log line, at debug level, is written here (tests that search the log). */
  logTo?: NodeJS.WritableStream;
}

/** A {@link Harness} whose engine and app also run plugins, wired as `cairn start` wires them. */
export interface PluginHarness extends Harness {
  plugins: PluginRuntime;
  /** Builds a plugin source file (a fixture) with the SDK and uploads it: `POST /v1/plugins`, which must answer 201. */
  installPlugin(entry: URL): Promise<void>;
}

/** A real engine on a fresh cloned database: HTTP app (inject), workers, a workspace and an admin key. */
export function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  return start(opts, null);
}

/** {@link startHarness} with the plugin runtime (sandbox, action registry, trigger tasks, plugin routes). */
export async function startPluginHarness(opts: HarnessOptions & { fetch?: SandboxFetchOptions } = {}): Promise<PluginHarness> {
  let plugins: PluginRuntime | undefined;
  const h = await start(opts, (ctx) => (plugins = createPluginRuntime(ctx, { fetch: opts.fetch })));
  return {
    ...h,
    plugins: plugins!,
    async installPlugin(entry) {
      const built = await buildPlugin(fileURLToPath(entry));
      const res = await h.call('POST', '/v1/plugins', { manifest: built.manifest, bundle: built.bundle });
      if (res.status !== 201) throw new Error(`install ${entry}: ${res.status} ${JSON.stringify(res.body)}`);
    },
  };
}

async function start(opts: HarnessOptions, withPlugins: ((ctx: EngineContext) => PluginRuntime) | null): Promise<Harness> {
  const t = await createTestDatabase();
  const config = compileConfig({
    DATABASE_URL: t.url,
    CAIRN_CLOCK: opts.clock ?? 'manual',
    LOG_LEVEL: opts.logTo ? 'debug' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    CAIRN_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cairn-harness-')),
    CAIRN_SECRET_KEY: 'a'.repeat(64),
    CAIRN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true', // webhook receivers in tests listen on 127.0.0.1
    CAIRN_SMTP_ALLOW_PRIVATE_HOSTS: 'true', // so do their SMTP servers
    ...opts.env,
  });
  const clock: Clock = config.clock === 'manual' ? createManualClock(opts.startAt ?? new Date('2026-03-02T09:00:00Z')) : createSystemClock();
  const ctx: EngineContext = { config, db: t.db, databaseUrl: t.url, logger: createLogger(config.logLevel, opts.logTo), clock, secretKey: loadSecretKey(config) };
  const plugins = withPlugins?.(ctx);
  const engine = wireFlowEngine(ctx, plugins ? { registry: plugins.actions, tasks: plugins.tasks } : {});
  const app = await createApp(ctx, plugins ? { engine, ...plugins.appOptions } : { engine });
  if (opts.workers !== false) await engine.start();
  const ws = await createWorkspace(t.db, { slug: `ws-${Math.random().toString(36).slice(2, 8)}` });
  const { key } = await createApiKey(t.db, { workspaceId: ws.id, role: 'admin' });
  return {
    t, ctx, engine, app, workspaceId: ws.id, key,
    async call(method, url, body, k = key) {
      const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${k}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
    },
    async listen() {
      await app.listen({ port: 0, host: '127.0.0.1' });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    async close() {
      await engine.stop();
      await app.close();
      await plugins?.close();
      await t.drop();
    },
  };
}

/** Polls `check` until it returns a truthy value (real-time tests only). */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The W1 lead-routing flow of BENCHMARKS.md: the lead-routing example, one file for tests, bench and seed. */
export function leadRoutingFlow(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'lead-routing', 'flow.json'), 'utf8')) as Record<string, unknown>;
}

/** Creates owners ana, ben, chi and the pool `enterprise`; returns owner ids by name. */
export async function seedEnterprisePool(h: Harness): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const name of ['ana', 'ben', 'chi']) {
    const r = await h.call('POST', '/v1/owners', { name, email: `${name}@example.com` });
    ids[name] = r.body.id;
  }
  const pool = await h.call('POST', '/v1/routing-pools', { key: 'enterprise', owner_ids: Object.values(ids) });
  if (pool.status !== 201) throw new Error(`pool: ${JSON.stringify(pool.body)}`);
  return ids;
}

export async function createAndPublish(h: Harness, doc: unknown): Promise<string> {
  const created = await h.call('POST', '/v1/flows', doc);
  if (created.status !== 201) throw new Error(`create flow: ${created.status} ${JSON.stringify(created.body)}`);
  const pub = await h.call('POST', `/v1/flows/${created.body.id}/publish`, {});
  if (pub.status !== 200) throw new Error(`publish: ${pub.status} ${JSON.stringify(pub.body)}`);
  return created.body.id;
}
