import type { FastifyInstance } from 'fastify';
import { compileConfig } from '../src/config/index.ts';
import { createLogger } from '../src/logger.ts';
import { createManualClock, createSystemClock, type Clock } from '../src/time/clock.ts';
import type { EngineContext } from '../src/context.ts';
import { createApp } from '../src/http/app.ts';
import type { FlowEngine } from '../src/runner/index.ts';
import { wireFlowEngine } from '../src/runtime.ts';
import { createWorkspace } from '../src/crm/workspaces.ts';
import { createApiKey } from '../src/auth/api-keys.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { EXAMPLES_DIR } from '../src/flow/examples.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  close(): Promise<void>;
}

/** A real engine on a fresh cloned database: HTTP app (inject), workers, a workspace and an admin key. */
export async function startHarness(opts: { clock?: 'manual' | 'system'; workers?: boolean; env?: Record<string, string> } = {}): Promise<Harness> {
  const t = await createTestDatabase();
  const config = compileConfig({
    DATABASE_URL: t.url,
    CAIRN_CLOCK: opts.clock ?? 'manual',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    CAIRN_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cairn-harness-')),
    CAIRN_SECRET_KEY: 'a'.repeat(64),
    CAIRN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true', // webhook receivers in tests listen on 127.0.0.1
    CAIRN_SMTP_ALLOW_PRIVATE_HOSTS: 'true', // so do their SMTP servers
    ...opts.env,
  });
  const clock: Clock = config.clock === 'manual' ? createManualClock(new Date('2026-03-02T09:00:00Z')) : createSystemClock();
  const ctx: EngineContext = { config, db: t.db, databaseUrl: t.url, logger: createLogger(config.logLevel), clock, secretKey: loadSecretKey(config) };
  const engine = wireFlowEngine(ctx);
  const app = await createApp(ctx, { engine });
  if (opts.workers !== false) await engine.start();
  const ws = await createWorkspace(t.db, { slug: `ws-${Math.random().toString(36).slice(2, 8)}` });
  const { key } = await createApiKey(t.db, { workspaceId: ws.id, role: 'admin' });
  return {
    t, ctx, engine, app, workspaceId: ws.id, key,
    async call(method, url, body, k = key) {
      const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${k}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
    },
    async close() {
      await engine.stop();
      await app.close();
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
