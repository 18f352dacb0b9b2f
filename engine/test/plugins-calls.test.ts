import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@cairn/plugin-sdk/testing';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';

/**
 * Plugin calls through the real engine (issue 16). Time limits that compose: a vendor that hangs 12 s, called with
 * `timeoutMs: 5000`, fails the step with a retryable FETCH_TIMEOUT well inside the 10 s wall limit; the node's
 * retry policy runs it again; a call of the same plugin in flight meanwhile completes, and the isolate is the
 * same one throughout (no reload). Errors and logs: a plugin's error code is the step's and a condition after the
 * `error` edge branches on it; its ctx.log and console lines are kept on the step, redacted and bounded.
 */

let vendor: TestServer;
const TOKEN = 'tok_live_5f4e3d2c1b';

let h: PluginHarness;
const api = (method: string, url: string, body?: unknown) => h.call(method, url, body);

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
  vendor = await startTestServer((req, res) => {
    if (req.url === '/hang') return void setTimeout(() => res.end('too late'), 12_000).unref(); // 12 s
    if (req.url === '/slow') return void setTimeout(() => res.end('slow but fine'), 6_000).unref();
    res.end('fine');
  });
  h = await startPluginHarness({ clock: 'system', fetch: { testHosts: [vendor.host] } });
  await h.installPlugin(new URL('./fixtures/patient.ts', import.meta.url));
  expect((await api('PUT', '/v1/plugins/patient/credentials', { api_token: TOKEN })).status).toBe(200);
});

afterAll(async () => {
  await h?.close();
  await vendor?.close();
});

describe('plugin time limits', () => {
  it('a vendor hanging 12 s with timeoutMs 5000: retryable FETCH_TIMEOUT, retried per the node policy, the isolate not reset for other runs', async () => {
    const hanging = await publish('Hanging vendor', 'vendor.hang', {
      id: 'call', type: 'plugin:patient/call_vendor', config: { url: `${vendor.url}/hang`, fetch_timeout_ms: 5000, retry: { max_attempts: 2, backoff: 'PT1S' } },
    });
    const slow = await publish('Slow vendor', 'vendor.slow', { id: 'call', type: 'plugin:patient/call_vendor', config: { url: `${vendor.url}/slow` } });
    const loadsBefore = h.plugins.sandbox.stats().loads;
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
    expect(h.plugins.sandbox.stats().loads - loadsBefore).toBe(1);
  });
});

describe('plugin errors and logs', () => {
  it("a flow branches on the plugin's error.code RATE_LIMITED after the error edge; its ctx.log and console lines are on the step", async () => {
    const flowId = await publish('Rate limited', 'vendor.limit', { id: 'limited', type: 'plugin:patient/rate_limited', config: { retry: { max_attempts: 1, backoff: 'PT1S' } } }, {
      nodes: [
        { id: 'why', type: 'condition', position: { x: 0, y: 240 }, config: { rule: { all: [{ fact: 'run', path: '$.limited.error.code', operator: 'equal', value: 'RATE_LIMITED' }] } } },
        { id: 'later', type: 'action.set_property', position: { x: -200, y: 360 }, config: { properties: { branch: 'rate limited: {{ run.limited.error.code }}' } } },
        { id: 'other', type: 'action.set_property', position: { x: 200, y: 360 }, config: { properties: { branch: 'something else' } } },
      ],
      edges: [
        { id: 'e2', source: 'limited', sourceHandle: 'error', target: 'why' },
        { id: 'e3', source: 'why', sourceHandle: 'true', target: 'later' },
        { id: 'e4', source: 'why', sourceHandle: 'false', target: 'other' },
      ],
    });
    expect((await api('POST', '/v1/events', { type: 'vendor.limit', contact: { email: 'limit@example.com' } })).status).toBe(202);
    const run = await finishedRun(flowId);
    expect(run.status).toBe('completed');
    expect(run.steps.map((s: any) => [s.node_id, s.status])).toEqual([['start', 'completed'], ['limited', 'failed'], ['why', 'completed'], ['later', 'completed']]);
    const contact = (await api('GET', '/v1/contacts?email=limit%40example.com')).body.items[0];
    expect(contact.properties.branch).toBe('rate limited: RATE_LIMITED');

    const step = run.steps.find((s: any) => s.node_id === 'limited');
    expect(step.error).toMatchObject({ code: 'RATE_LIMITED', retryable: false });
    expect(step.error.message).toContain('the vendor is rate limiting us');
    // Where it was thrown, in the bundle the sandbox ran.
    expect(step.error.stack).toMatch(/RATE_LIMITED|rate limiting/);
    expect(step.error.stack).toMatch(/plugin-bundle\.js:\d+/);
    expect(step.logs.map((l: any) => [l.level, l.source, l.message])).toEqual([
      ['info', 'ctx.log', 'asking the vendor'],
      ['info', 'console', 'console line {"remaining":0}'],
      ['warn', 'ctx.log', 'vendor said 429 for [REDACTED]'],
    ]);
    expect(step.logs[0].fields).toEqual({ attempt: 1, token: '[REDACTED]' });
    expect(JSON.stringify(run)).not.toContain(TOKEN);
  });

  it('log lines kept on a step are bounded: 50 lines of at most 1,000 characters, then a line saying how many more', async () => {
    const flowId = await publish('Chatty', 'vendor.chatty', { id: 'chatty', type: 'plugin:patient/chatty', config: {} });
    expect((await api('POST', '/v1/events', { type: 'vendor.chatty', contact: { email: 'chatty@example.com' } })).status).toBe(202);
    const run = await finishedRun(flowId);
    expect(run.status).toBe('completed');
    const { logs } = run.steps.find((s: any) => s.node_id === 'chatty');
    expect(logs).toHaveLength(51);
    expect(logs[0].message.length).toBe(1001); // 1,000 characters and an ellipsis
    expect(logs[49].message).toMatch(/^line 49 /);
    expect(logs[50]).toMatchObject({ level: 'warn', message: '70 more log lines were not kept (the first 50 are)' });
  });
});
