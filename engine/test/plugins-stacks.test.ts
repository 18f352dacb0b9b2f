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
 * Source-mapped stacks (issue 16 item 3): a plugin built with its source map and published with it fails a step
 * from `src/actions/explode.ts:12`; the run's step shows that file and line, not `plugin-bundle.js`. A version
 * published without a map keeps the bundle's frames; a map that is not a source map is refused at upload (400).
 */

let t: TestDatabase;
let app: FastifyInstance;
let engine: FlowEngine;
let plugins: PluginRuntime;
let admin: string;
const root = fileURLToPath(new URL('./fixtures/stacky/', import.meta.url));

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${admin}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
}

async function failedStep(version: string, event: string) {
  const flow = await api('POST', '/v1/flows', {
    schema: 'cairn.flow/v1', name: `Stacks ${version}`, settings: { reentry: 'always', goal: null, exit_on: [] },
    nodes: [
      { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } },
      { id: 'boom', type: 'plugin:stacky/explode', position: { x: 0, y: 120 }, config: { deal: 'd-42/open' } },
    ],
    edges: [{ id: 'e1', source: 'start', target: 'boom' }],
  });
  expect(flow.status, JSON.stringify(flow.body)).toBe(201);
  expect((await api('POST', `/v1/flows/${flow.body.id}/publish`, {})).status).toBe(200);
  expect((await api('POST', '/v1/events', { type: event, contact: { email: `${event}@example.com` } })).status).toBe(202);
  const run = await eventually(async () => {
    const r = (await api('GET', `/v1/runs?flow_id=${flow.body.id}`)).body.items?.[0];
    return r && ['completed', 'failed'].includes(r.status) ? r : undefined;
  }, 60_000, 100);
  expect(run.status).toBe('failed');
  return (await api('GET', `/v1/runs/${run.id}`)).body.steps.find((s: any) => s.node_id === 'boom');
}

beforeAll(async () => {
  t = await createTestDatabase();
  const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'e'.repeat(64), PORT: '0' });
  const ctx: EngineContext = { config, db: t.db, databaseUrl: t.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) };
  plugins = createPluginRuntime(ctx, {});
  engine = wireFlowEngine(ctx, { registry: plugins.actions });
  app = await createApp(ctx, { engine, ...plugins.appOptions });
  await app.ready();
  await engine.start();
  const ws = await createWorkspace(t.db, { slug: `stacks-${process.pid}` });
  admin = (await createApiKey(t.db, { workspaceId: ws.id, role: 'admin' })).key;
});

afterAll(async () => {
  await engine?.stop();
  await app?.close();
  await plugins?.close();
  await t?.drop();
});

describe('source-mapped stacks', () => {
  it('a plugin throwing at src/actions/explode.ts:12 shows that file and line in the run\'s step', async () => {
    const built = await buildPlugin(`${root}src/index.ts`, { root });
    expect(JSON.parse(built.sourceMap).sources).toContain('src/actions/explode.ts');
    const up = await api('POST', '/v1/plugins', { manifest: built.manifest, bundle: built.bundle, source_map: built.sourceMap });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const step = await failedStep('1.0.0', 'deal.checked');
    expect(step.error.code).toBe('DEAL_NOT_WON');
    const frames = String(step.error.stack).split('\n');
    expect(frames.find((f) => f.includes(' fail '))).toMatch(/\(src\/actions\/explode\.ts:12:\d+\)$/);
    expect(frames.find((f) => f.includes(' check '))).toMatch(/\(src\/actions\/explode\.ts:7:\d+\)$/);
    expect(step.error.stack).not.toContain('plugin-bundle.js');
  });

  it('a version published without a source map keeps the bundle frames; a bad map is refused with 400 naming the field', async () => {
    const v2 = await buildPlugin(`${root}src/index.ts`, { root });
    const manifest = { ...v2.manifest, version: '1.0.1' };
    const bundle = v2.bundle.replace('version: "1.0.0"', 'version: "1.0.1"');
    const bad = await api('POST', '/v1/plugins', { manifest, bundle, source_map: '{"version":2}' });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(bad.body.errors).toEqual([{ path: '/source_map', message: 'the source map must be a version 3 source map with sources and mappings' }]);
    expect((await api('POST', '/v1/plugins', { manifest, bundle })).status).toBe(201);
    const step = await failedStep('1.0.1', 'deal.rechecked');
    expect(step.error.code).toBe('DEAL_NOT_WON');
    expect(step.error.stack).toMatch(/plugin-bundle\.js:\d+:\d+/);
  });
});
