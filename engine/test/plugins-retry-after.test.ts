import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@cairn/plugin-sdk/testing';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';

/**
 * A vendor's Retry-After, honoured (issue 16): a plugin turns a 429 into `httpError(…, res.headers)`, whose
 * `retryAfterMs` the engine takes as the least delay before the retry, over the node's shorter backoff. On the
 * test clock, against a real local HTTP server that records each call with the engine's time.
 */

let vendor: TestServer;
const calls: { path: string; at: number }[] = [];
const answers = new Map<string, { status: number; headers: Record<string, string> }[]>();

let h: PluginHarness;
const api = (method: string, url: string, body?: unknown) => h.call(method, url, body);

async function publish(event: string, path: string): Promise<string> {
  const flow = await api('POST', '/v1/flows', {
    schema: 'cairn.flow/v1', name: `Throttled ${path}`, settings: { reentry: 'always', goal: null, exit_on: [] },
    nodes: [
      { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } },
      { id: 'call', type: 'plugin:throttled/call', position: { x: 0, y: 120 }, config: { url: `${vendor.url}${path}`, retry: { max_attempts: 3, backoff: 'PT1S', factor: 1 } } },
    ],
    edges: [{ id: 'e1', source: 'start', target: 'call' }],
  });
  expect(flow.status, JSON.stringify(flow.body)).toBe(201);
  expect((await api('POST', `/v1/flows/${flow.body.id}/publish`, {})).status).toBe(200);
  return flow.body.id;
}

// When the backed-off step is due again (a run backing off between attempts is `active`, so the API shows no `waiting`).
const wakeAt = async (runId: string) => (await h.t.db('runs').where({ id: runId }).first<{ wake_at: Date }>('wake_at')).wake_at.getTime();
const callsTo = (path: string) => calls.filter((c) => c.path === path);
const run = async (flowId: string) => (await api('GET', `/v1/runs/${(await api('GET', `/v1/runs?flow_id=${flowId}`)).body.items[0].id}`)).body;

beforeAll(async () => {
  vendor = await startTestServer((req, res) => {
    calls.push({ path: req.url!, at: h.ctx.clock.now().getTime() });
    const next = answers.get(req.url!)?.shift() ?? { status: 200, headers: {} };
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers }).end('{}');
  });
  h = await startPluginHarness({ fetch: { testHosts: [vendor.host] } });
  await h.installPlugin(new URL('./fixtures/throttled.ts', import.meta.url));
});

afterAll(async () => {
  await h?.close();
  await vendor?.close();
});

describe("a vendor's Retry-After", () => {
  it('a 429 with Retry-After: 30 is retried no sooner than 30 s later (the node backoff is 1 s)', async () => {
    answers.set('/limited', [{ status: 429, headers: { 'retry-after': '30' } }]);
    const flowId = await publish('vendor.limited', '/limited');
    expect((await api('POST', '/v1/events', { type: 'vendor.limited', contact: { email: 'limited@example.com' } })).status).toBe(202);
    const first = await eventually(async () => {
      const r = await run(flowId).catch(() => undefined);
      return r?.steps.some((s: any) => s.node_id === 'call') ? r : undefined;
    }, 60_000, 100);
    expect(callsTo('/limited')).toHaveLength(1);
    const failed = first.steps.find((s: any) => s.node_id === 'call');
    expect(failed.error).toMatchObject({ code: 'VENDOR_HTTP_429', retryable: true, retry_after_ms: 30_000 });
    const firstAt = callsTo('/limited')[0]!.at;
    expect((await wakeAt(first.id)) - Date.parse(failed.finished_at)).toBe(30_000);

    // 29 s on: the node's 1 s backoff is long over, but the vendor asked for 30 s; nothing is due, nothing is called.
    expect((await api('POST', '/v1/_test/clock/advance', { by: 'PT29S' })).status).toBe(200);
    expect((await run(flowId)).steps.filter((s: any) => s.node_id === 'call')).toHaveLength(1);
    expect(callsTo('/limited')).toHaveLength(1);

    expect((await api('POST', '/v1/_test/clock/advance', { by: 'PT2S' })).status).toBe(200);
    const done = await eventually(async () => { const r = await run(flowId); return r.status === 'completed' ? r : undefined; }, 60_000, 100);
    const made = callsTo('/limited');
    expect(made).toHaveLength(2);
    expect(made[1]!.at - firstAt).toBeGreaterThanOrEqual(30_000);
    expect(done.steps.filter((s: any) => s.node_id === 'call').map((s: any) => [s.attempt, s.status])).toEqual([[1, 'failed'], [2, 'completed']]);
  });

  it('a 503 with an X-RateLimit-Reset of 2 minutes waits 2 minutes; a 429 without a delay keeps the node backoff', async () => {
    answers.set('/reset', [{ status: 503, headers: { 'x-ratelimit-reset': '120' } }]);
    answers.set('/plain', [{ status: 429, headers: {} }]);
    const reset = await publish('vendor.reset', '/reset');
    const plain = await publish('vendor.plain', '/plain');
    expect((await api('POST', '/v1/events/batch', { events: [
      { type: 'vendor.reset', contact: { email: 'reset@example.com' } },
      { type: 'vendor.plain', contact: { email: 'plain@example.com' } },
    ] })).status).toBe(202);
    const waiting = async (flowId: string) => eventually(async () => {
      const r = await run(flowId).catch(() => undefined);
      return r?.steps.some((s: any) => s.node_id === 'call') ? r : undefined;
    }, 60_000, 100);
    const r1 = await waiting(reset);
    const r2 = await waiting(plain);
    const gap = async (r: any) => (await wakeAt(r.id)) - Date.parse(r.steps.find((s: any) => s.node_id === 'call').finished_at);
    expect(await gap(r1)).toBe(120_000);
    expect(r2.steps.find((s: any) => s.node_id === 'call').error.retry_after_ms).toBeUndefined();
    expect(await gap(r2)).toBe(1_000);
  });
});
