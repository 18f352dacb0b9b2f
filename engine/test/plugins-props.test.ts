import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';

/**
 * Plugin props through the real API and engine (issue 16, deliverable 6): a Liquid template may fill a number,
 * integer or boolean prop (accepted at publish); its rendered text is coerced to the declared type before the call,
 * schema defaults are applied, and text that is not such a value fails the step with a problem naming the prop.
 */

let h: PluginHarness;
const api = (method: string, url: string, body?: unknown) => h.call(method, url, body);

async function finishedRun(flowId: string) {
  const item = await eventually(async () => (await api('GET', `/v1/runs?flow_id=${flowId}`)).body.items.find((r: any) => ['completed', 'failed'].includes(r.status)), 60_000, 100);
  return (await api('GET', `/v1/runs/${item.id}`)).body;
}

beforeAll(async () => {
  h = await startPluginHarness({ clock: 'system' });
  await h.installPlugin(new URL('../../plugin-sdk/test/fixtures/typed.ts', import.meta.url));
});

afterAll(async () => {
  await h?.close();
});

describe('plugin props', () => {
  it('a template fills a number prop: accepted at publish, coerced before the call, defaults applied; text that is no number fails naming the prop', async () => {
    const flow = await api('POST', '/v1/flows', {
      schema: 'cairn.flow/v1', name: 'Typed props', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'order.placed' } },
        { id: 'echo', type: 'plugin:typed/echo_typed', position: { x: 0, y: 120 }, config: { amount: '{{ event.properties.value }}', paid: '{{ event.properties.paid }}', retry: { max_attempts: 1, backoff: 'PT1S' } } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'echo' }],
    });
    expect(flow.status).toBe(201);
    const published = await api('POST', `/v1/flows/${flow.body.id}/publish`, {});
    expect(published.status, JSON.stringify(published.body)).toBe(200);

    expect((await api('POST', '/v1/events', { type: 'order.placed', contact: { email: 'ok@example.com' }, properties: { value: 49.5, paid: true } })).status).toBe(202);
    const ok = await finishedRun(flow.body.id);
    expect(ok.status).toBe('completed');
    expect(ok.steps.find((s: any) => s.node_id === 'echo').output).toEqual({
      props: { amount: 49.5, paid: true, quantity: 1, currency: 'EUR' },
      types: { amount: 'number', paid: 'boolean', quantity: 'number', currency: 'string' },
    });

    await h.t.db('runs').where({ workspace_id: h.workspaceId }).delete();
    expect((await api('POST', '/v1/events', { type: 'order.placed', contact: { email: 'bad@example.com' }, properties: { value: 'a lot', paid: false } })).status).toBe(202);
    const bad = await finishedRun(flow.body.id);
    expect(bad.status).toBe('failed');
    const step = bad.steps.find((s: any) => s.node_id === 'echo');
    expect(step.error.code).toBe('CAIRN_ERR_STEP_FAILED');
    expect(step.error.message).toContain('/config/amount must be a number; the value "a lot" cannot be read as one');
  });

  it('a literal that is no number is still refused at publish, with its path', async () => {
    const flow = await api('POST', '/v1/flows', {
      schema: 'cairn.flow/v1', name: 'Typed props, wrong', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'order.wrong' } },
        { id: 'echo', type: 'plugin:typed/echo_typed', position: { x: 0, y: 120 }, config: { amount: 'forty' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'echo' }],
    });
    const res = await api('POST', `/v1/flows/${flow.body.id}/publish`, {});
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: any) => e.path)).toContain('/nodes/1/config/amount');
  });
});
