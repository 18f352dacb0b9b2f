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
import { createPluginRuntime, type PluginRuntime } from '../src/plugins/runtime.ts';
import type { FlowEngine } from '../src/runner/index.ts';
import { wireFlowEngine } from '../src/runtime.ts';
import { loadSecretKey } from '../src/secrets/key.ts';
import { createSystemClock } from '../src/time/clock.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { eventually } from './engine-harness.ts';

/**
 * Issue 16, time limits that compose, through the real engine: a vendor that hangs 12 s, called with
 * `timeoutMs: 5000`, fails the step with a retryable FETCH_TIMEOUT well inside the 10 s wall limit; the node's
 * retry policy runs it again; a call of the same plugin in flight meanwhile completes, and the isolate is the
 * same one throughout (no reload).
 */

let t: TestDatabase;
let app: FastifyInstance;
let engine: FlowEngine;
let plugins: PluginRuntime;
let vendor: Server;
let vendorUrl: string;
let admin: string;

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${admin}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
}

async function publish(name: string, event: string, node: Record<string, unknown>, more: { nodes?: unknown[]; edges?: unknown[] } = {}): Promise<string> {
  const flow = await api('POST', '/v1/flows', {
    schema: 'cairn.flow/v1', name, settings: { reentry: 'always', goal: null, exit_on: [] },
    nodes: [{ id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } }, { position: { x: 0, y: 120 }, ...node }, ...(more.nodes ?? [])],
    edges: [{ id: 'e1', source: 'start', target: node.id }, ...(more.edges ?? [])],
  });
  expect(flow.status, JSON.stringify(flow.body)).toBe(201);
  expect((await api('POST', `/v1/flows/${flow.body.id}/publish`, {})).status).toBe(200);
  return flow.body.id;
}

async function finishedRun(flowId: string, timeoutMs = 60_000) {
  const run = await eventually(async () => {
    const r = (await api('GET', `/v1/runs?flow_id=${flowId}`)).body.items?.[0];
    return r && ['completed', 'failed'].includes(r.status) ? r : undefined;
  }, timeoutMs, 100);
  return (await api('GET', `/v1/runs/${run.id}`)).body;
}

beforeAll(async () => {
  vendor = createServer((req, res) => {
    if (req.url === '/hang') return void setTimeout(() => res.end('too late'), 12_000).unref(); // 12 s
    if (req.url === '/slow') return void setTimeout(() => res.end('slow but fine'), 6_000).unref();
    res.end('fine');
  });
  await new Promise<void>((r) => vendor.listen(0, '127.0.0.1', r));
  vendorUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  t = await createTestDatabase();
  const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'f'.repeat(64), PORT: '0' });
  const ctx: EngineContext = { config, db: t.db, databaseUrl: t.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) };
  plugins = createPluginRuntime(ctx, { fetch: { testHosts: [new URL(vendorUrl).host] } });
  engine = wireFlowEngine(ctx, { registry: plugins.actions });
  app = await createApp(ctx, { engine, ...plugins.appOptions });
  await app.ready();
  await engine.start();
  const ws = await createWorkspace(t.db, { slug: `time-limits-${process.pid}` });
  admin = (await createApiKey(t.db, { workspaceId: ws.id, role: 'admin' })).key;
  const patient = await buildPlugin(fileURLToPath(new URL('./fixtures/patient.ts', import.meta.url)));
  expect((await api('POST', '/v1/plugins', { manifest: patient.manifest, bundle: patient.bundle })).status).toBe(201);
});

afterAll(async () => {
  await engine?.stop();
  await app?.close();
  await plugins?.close();
  vendor?.closeAllConnections();
  await new Promise((r) => vendor?.close(r));
  await t?.drop();
});

describe('plugin time limits', () => {
  it('a vendor hanging 12 s with timeoutMs 5000: retryable FETCH_TIMEOUT, retried per the node policy, the isolate not reset for other runs', async () => {
    const hanging = await publish('Hanging vendor', 'vendor.hang', {
      id: 'call', type: 'plugin:patient/call_vendor', config: { url: `${vendorUrl}/hang`, fetch_timeout_ms: 5000, retry: { max_attempts: 2, backoff: 'PT1S' } },
    });
    const slow = await publish('Slow vendor', 'vendor.slow', { id: 'call', type: 'plugin:patient/call_vendor', config: { url: `${vendorUrl}/slow` } });
    const loadsBefore = plugins.sandbox.stats().loads;
    const started = Date.now();
    expect((await api('POST', '/v1/events', { type: 'vendor.hang', contact: { email: 'hang@example.com' } })).status).toBe(202);
    // A call of the same plugin and workspace that is still fetching when the first attempt times out.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await api('POST', '/v1/events', { type: 'vendor.slow', contact: { email: 'slow@example.com' } })).status).toBe(202);

    const other = await finishedRun(slow);
    expect(other.status).toBe('completed');
    expect(other.steps.find((s: any) => s.node_id === 'call').output).toEqual({ status: 200, body: 'slow but fine' });

    const run = await finishedRun(hanging);
    expect(run.status).toBe('failed');
    const attempts = run.steps.filter((s: any) => s.node_id === 'call');
    expect(attempts.map((s: any) => [s.attempt, s.status])).toEqual([[1, 'failed'], [2, 'failed']]);
    for (const a of attempts) {
      expect(a.error.retryable).toBe(true);
      expect(JSON.stringify(a.error)).toContain('FETCH_TIMEOUT');
    }
    // Each attempt gave up after its 5 s fetch timeout (not the vendor's 12 s, not the 10 s wall limit), and the
    // second began no sooner than the 1 s backoff after the first.
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2 * 5_000 + 1_000);
    expect(elapsed).toBeLessThan(2 * 10_000);
    expect(Date.parse(attempts[1].finished_at) - Date.parse(attempts[0].finished_at)).toBeGreaterThanOrEqual(5_000 + 1_000 - 50);
    // One isolate served all three calls: no limit breach reset it.
    expect(plugins.sandbox.stats().loads - loadsBefore).toBe(1);
  });
});
