import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { createApiKey } from '../src/auth/api-keys.ts';
import { compileConfig } from '../src/config/index.ts';
import type { EngineContext } from '../src/context.ts';
import { createWorkspace } from '../src/crm/workspaces.ts';
import { createDb, type Db } from '../src/db/index.ts';
import { createApp } from '../src/http/app.ts';
import { createLogger } from '../src/logger.ts';
import { createPluginRuntime, type PluginRuntime } from '../src/plugins/runtime.ts';
import { PLUGIN_POLL_TASK } from '../src/queue/jobs.ts';
import type { FlowEngine } from '../src/runner/index.ts';
import { wireFlowEngine } from '../src/runtime.ts';
import { loadSecretKey } from '../src/secrets/key.ts';
import { createSystemClock } from '../src/time/clock.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { eventually } from './engine-harness.ts';

/**
 * A polling trigger enrols each new item once across engine restarts (issue 16): a flow starting on the
 * poll_vendor plugin's `new_item` polling trigger is polled by the engine's workers; the engine is stopped between
 * polls while the vendor gets new items, and a new engine (its own pool, its own workers) picks up from the stored
 * cursor; then two engines run side by side, and two polls of the same flow are forced to run at the same moment;
 * then an engine in another OS process polls alone and is SIGKILLed, and a new engine takes over.
 * The vendor always answers one item more than asked (its list overlaps the cursor), so only the seen-id record
 * keeps items from enrolling twice. Every item enrols exactly once, none is lost.
 */

interface Engine { db: Db; plugins: PluginRuntime; engine: FlowEngine; ctx: EngineContext }

let t: TestDatabase;
let app: FastifyInstance;
let first: Engine;
const others: Engine[] = [];
let vendor: Server;
let vendorUrl: string;
let admin: string;
let workspaceId: string;
let flowId: string;
const items: { id: number; email: string }[] = [];
let vendorCalls = 0;
let child: ChildProcess | undefined;
const API_KEY = 'pk_live_9c8b7a6f5e';

function newItems(n: number) {
  for (let i = 0; i < n; i++) {
    const id = items.length + 1;
    items.push({ id, email: `item${id}@example.com` });
  }
}

function startEngine(): Engine {
  const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'd'.repeat(64), PORT: '0' });
  const db = createDb(t.url);
  const ctx: EngineContext = { config, db, databaseUrl: t.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) };
  const plugins = createPluginRuntime(ctx, { fetch: { testHosts: [new URL(vendorUrl).host] } });
  const engine = wireFlowEngine(ctx, { registry: plugins.actions, tasks: plugins.tasks });
  return { db, plugins, engine, ctx };
}

async function stopEngine(e: Engine) {
  await e.engine.stop();
  await e.plugins.close();
  await e.db.destroy();
}

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${admin}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
}

/** Runs of the flow per contact email, and events of the trigger's type. */
async function enrolled(): Promise<{ runs: Map<string, number>; events: number }> {
  const { rows } = await t.db.raw(
    `SELECT c.email, count(*)::int AS n FROM runs r JOIN contacts c ON c.id = r.contact_id WHERE r.workspace_id = ? AND r.flow_id = ? GROUP BY c.email`,
    [workspaceId, flowId],
  );
  const events = await t.db('events').where({ workspace_id: workspaceId, type: 'vendor.item.created' }).count<{ n: number }[]>({ n: '*' });
  return { runs: new Map((rows as { email: string; n: number }[]).map((r) => [r.email, r.n])), events: Number(events[0]!.n) };
}

async function polls(): Promise<number> {
  return (await t.db('plugin_trigger_states').where({ workspace_id: workspaceId, flow_id: flowId }).first<{ polls: number } | undefined>('polls'))?.polls ?? 0;
}

/** Waits until every item has enrolled and a few more polls have run (so a duplicate would have had its chance). */
async function settled(): Promise<void> {
  await eventually(async () => (await enrolled()).runs.size === items.length, 60_000, 100);
  const after = await polls();
  await eventually(async () => (await polls()) >= after + 2, 60_000, 100);
}

function expectEachOnce(state: { runs: Map<string, number>; events: number }) {
  expect(state.events).toBe(items.length);
  expect([...state.runs.keys()].sort()).toEqual(items.map((i) => i.email).sort());
  expect([...state.runs.values()].every((n) => n === 1)).toBe(true);
}

beforeAll(async () => {
  vendor = createServer((req, res) => {
    vendorCalls++;
    const u = new URL(req.url!, 'http://x');
    if (req.headers['x-api-key'] !== API_KEY) {
      res.writeHead(401).end('{}');
      return;
    }
    // One item more than asked: the list overlaps the cursor, as many vendors' "since" filters do.
    const after = Number(u.searchParams.get('after') ?? 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(items.filter((i) => i.id >= after)));
  });
  await new Promise<void>((r) => vendor.listen(0, '127.0.0.1', r));
  vendorUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`;
  t = await createTestDatabase();
  first = startEngine();
  app = await createApp(first.ctx, { engine: first.engine, ...first.plugins.appOptions });
  await app.ready();
  await first.engine.start();
  const ws = await createWorkspace(t.db, { slug: `polling-${process.pid}` });
  workspaceId = ws.id;
  admin = (await createApiKey(t.db, { workspaceId, role: 'admin' })).key;
  const built = await buildPlugin(fileURLToPath(new URL('./fixtures/poll-vendor.ts', import.meta.url)));
  expect((await api('POST', '/v1/plugins', { manifest: built.manifest, bundle: built.bundle })).status).toBe(201);
  expect((await api('PUT', '/v1/plugins/poll_vendor/credentials', { api_key: API_KEY, api_base_url: vendorUrl })).status).toBe(200);
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await app?.close();
  for (const e of [first, ...others]) if (e) await stopEngine(e).catch(() => undefined);
  vendor?.closeAllConnections();
  await new Promise((r) => vendor?.close(r));
  await t?.drop();
});

describe('polling triggers', () => {
  it('a flow on an unknown trigger does not publish; one on new_item starts polling when published', async () => {
    const doc = (source: string) => ({
      schema: 'cairn.flow/v1', name: 'New vendor items', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'vendor.item.created', source } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 120 }, config: { add: ['from-vendor'] } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'tag' }],
    });
    const flow = await api('POST', '/v1/flows', doc('plugin:poll_vendor/no_such_trigger'));
    flowId = flow.body.id;
    const refused = await api('POST', `/v1/flows/${flowId}/publish`, {});
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0]).toMatchObject({ path: '/nodes/0/config/source', message: 'plugin poll_vendor@1.0.0 has no trigger "no_such_trigger"' });
    expect((await api('PUT', `/v1/flows/${flowId}/draft`, doc('plugin:poll_vendor/new_item'))).status).toBe(200);
    newItems(2);
    expect((await api('POST', `/v1/flows/${flowId}/publish`, {})).status).toBe(200);
    expect((await api('GET', `/v1/flows/${flowId}/versions/1`)).body.plugin_pins).toEqual({ poll_vendor: '1.0.0' });
    await settled();
    expectEachOnce(await enrolled());
  });

  it('A polling trigger enrols each new item once across engine restarts', async () => {
    await first.engine.stop();
    newItems(3); // arrive while no engine runs
    const cursorWhileStopped = (await t.db('plugin_trigger_states').where({ flow_id: flowId }).first())!.cursor;
    expect(cursorWhileStopped).toBe(2);
    const second = startEngine();
    others.push(second);
    await second.engine.start();
    await settled();
    expectEachOnce(await enrolled());
    // And once more: stopped and restarted again.
    await second.engine.stop();
    newItems(2);
    const third = startEngine();
    others.push(third);
    await third.engine.start();
    await settled();
    expectEachOnce(await enrolled());
  });

  it('two engines side by side, and two polls of one flow at the same moment: still each item once', async () => {
    const fourth = startEngine();
    others.push(fourth);
    await fourth.engine.start();
    newItems(4);
    await settled();
    expectEachOnce(await enrolled());
    // Bypass the one-job-per-flow key: two engines run the same poll concurrently against the same cursor.
    newItems(3);
    const job = { w: workspaceId, f: flowId };
    const pollIn = (e: Engine) => e.plugins.tasks(e.engine.onEventsIngested)[PLUGIN_POLL_TASK]!(job, {} as never);
    await Promise.all([pollIn(others[1]!), pollIn(fourth), pollIn(fourth)]);
    await settled();
    expectEachOnce(await enrolled());
    expect(items).toHaveLength(14);
  });

  it('an engine in another OS process polls alone, is SIGKILLed, and a new engine takes over: still each item once, none lost', async () => {
    const script = fileURLToPath(new URL('./fixtures/plugin-worker-process.ts', import.meta.url));
    child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', script], {
      cwd: path.resolve(path.dirname(script), '../../..'),
      env: { ...process.env, DATABASE_URL: t.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'd'.repeat(64), CAIRN_TEST_HOSTS: new URL(vendorUrl).host },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
      child!.on('exit', (code) => reject(new Error(`the worker process exited early with ${code}`)));
    });
    // Only the child polls now: the in-process engines stop.
    await others[1]!.engine.stop();
    await others[2]!.engine.stop();
    newItems(3);
    await settled();
    expectEachOnce(await enrolled());
    newItems(2);
    child.kill('SIGKILL'); // whatever it held (a poll job, a poll in flight) is taken back by the heartbeat
    const fifth = startEngine();
    others.push(fifth);
    await fifth.engine.start();
    await settled();
    expectEachOnce(await enrolled());
    expect(items).toHaveLength(19);
  }, 120_000);

  it('archiving the flow stops its polls and forgets its state', async () => {
    expect((await api('POST', `/v1/flows/${flowId}/archive`)).status).toBe(200);
    await eventually(async () => !(await t.db('plugin_trigger_states').where({ flow_id: flowId }).first()), 30_000, 100);
    expect(await t.db('plugin_poll_seen').where({ flow_id: flowId }).first()).toBeUndefined();
    const calls = vendorCalls;
    newItems(1);
    await new Promise((r) => setTimeout(r, 2500)); // more than two poll intervals: nothing may poll now
    expect(vendorCalls).toBe(calls);
    expect((await enrolled()).runs.size).toBe(19); // the item added after archiving never enrols
  });
});
