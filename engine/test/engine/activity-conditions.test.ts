import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { edge, flow, node } from '../flow-doc.ts';

const ordersWithin = (within: string, min: number) => ({
  all: [{ fact: 'activity', params: { event: 'order.completed', measure: 'count', within }, operator: 'greaterThanInclusive', value: min }],
});

// CONTRACT.md §Behavioural facts: flow conditions may read `activity` (counts, sums, first/last times, windows).
describe('the activity fact in flow conditions (test clock starts 2026-03-02 09:00 UTC)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());
  const order = (email: string, amount = 10) => h.call('POST', '/v1/events', { type: 'order.completed', contact: { email }, properties: { amount } });
  const tags = async (email: string) => (await h.call('GET', `/v1/contacts?email=${encodeURIComponent(email)}`)).body.items[0].tags as string[];

  it('a condition node branches on "3+ orders in the last 90 days", counting the triggering order, and a window forgets old orders', async () => {
    await createAndPublish(h, flow('Frequent buyers', [
      node('start', 'trigger.event', { event: 'order.completed' }),
      node('frequent', 'condition', { rule: ordersWithin('P90D', 3) }, 100),
      node('yes', 'action.tag', { add: ['frequent'], remove: ['occasional'] }, 200),
      node('no', 'action.tag', { add: ['occasional'], remove: ['frequent'] }, 200),
    ], [edge('start', 'frequent'), edge('frequent', 'yes', 'true'), edge('frequent', 'no', 'false')]));

    for (let i = 0; i < 3; i++) await order('often@example.com');
    await order('once@example.com');
    await h.engine.drain();
    expect(await tags('often@example.com')).toEqual(['frequent']);
    expect(await tags('once@example.com')).toEqual(['occasional']);

    // 100 days later the three orders are outside the window: one more order is not "3+ in 90 days".
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P100D' });
    await order('often@example.com');
    await h.engine.drain();
    expect(await tags('often@example.com')).toEqual(['occasional']);
  });

  it('a trigger `when` reads activity: only a first purchase (count 1, all time) starts the welcome flow', async () => {
    const flowId = await createAndPublish(h, flow('First purchase', [
      node('start', 'trigger.event', {
        event: 'purchase.made',
        when: { all: [{ fact: 'activity', params: { event: 'purchase.made', measure: 'count' }, operator: 'equal', value: 1 }] },
      }),
      node('tag', 'action.tag', { add: ['first_buyer'] }, 100),
    ], [edge('start', 'tag')]));
    for (let i = 0; i < 2; i++) await h.call('POST', '/v1/events', { type: 'purchase.made', contact: { email: 'first@example.com' } });
    await h.engine.drain();
    const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items;
    expect(runs).toHaveLength(1);
    expect(await tags('first@example.com')).toEqual(['first_buyer']);
  });

  it('the flow test (dry run) of a stored contact reads its activity; notWithinLast holds for a contact that never ordered', async () => {
    const flowId = (await h.call('POST', '/v1/flows', flow('Lapsed', [
      node('start', 'trigger.event', { event: 'check.lapsed' }),
      node('lapsed', 'condition', { rule: { all: [{ fact: 'activity', params: { event: 'order.completed', measure: 'last_at' }, operator: 'notWithinLast', value: 'P30D' }] } }, 100),
      node('yes', 'action.tag', { add: ['lapsed'] }, 200),
      node('no', 'action.tag', { add: ['active'] }, 200),
    ], [edge('start', 'lapsed'), edge('lapsed', 'yes', 'true'), edge('lapsed', 'no', 'false')]))).body.id as string;
    await order('recent@example.com');
    const recent = (await h.call('GET', '/v1/contacts?email=recent%40example.com')).body.items[0];
    const tested = async (body: Record<string, unknown>) => {
      const res = await h.call('POST', `/v1/flows/${flowId}/test`, { event: { type: 'check.lapsed' }, ...body });
      expect(res.status).toBe(200);
      return res.body.path as string[];
    };
    expect(await tested({ contact_id: recent.id })).toContain('no');
    expect(await tested({ contact: { email: 'never@example.com' } })).toContain('yes');
  });

  it('validation accepts activity in flow conditions but still checks its params, and scoring rules refuse it', async () => {
    const created = await h.call('POST', '/v1/flows', flow('Bad', [
      node('start', 'trigger.event', { event: 'x' }),
      node('c', 'condition', { rule: { all: [{ fact: 'activity', params: { event: 'order.completed', measure: 'median' }, operator: 'equal', value: 1 }] } }, 100),
    ], [edge('start', 'c')]));
    const bad = await h.call('POST', `/v1/flows/${created.body.id}/validate`, {});
    const paths = (bad.body.errors ?? []).map((e: { path: string }) => e.path);
    expect(paths.some((p: string) => p.endsWith('/params/measure'))).toBe(true);
    const scoring = await h.call('PUT', '/v1/scoring', { rules: [{ event: 'x', points: 1, when: ordersWithin('P1D', 1) }] });
    expect(scoring.status).toBe(400);
    expect(JSON.stringify(scoring.body.errors)).toContain('/rules/0/when/all/0/fact');
  });
});
