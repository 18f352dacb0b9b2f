import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

const flow = (name: string, trigger: Record<string, unknown>, reentry = 'after_exit') => ({
  schema: 'cairn.flow/v1', name, settings: { reentry, goal: null, exit_on: [] },
  nodes: [
    { id: 'start', position: { x: 0, y: 0 }, ...trigger },
    { id: 'tag', type: 'action.tag', position: { x: 0, y: 120 }, config: { add: [name.toLowerCase().replace(/\W+/g, '-')] } },
  ],
  edges: [{ id: 'e1', source: 'start', target: 'tag' }],
});

describe('clock triggers (test clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());

  const triggerTimes = async (flowId: string) => (await h.t.db.raw(
    `SELECT c.email, s.finished_at FROM run_step_history s JOIN runs r ON r.id = s.run_id JOIN contacts c ON c.id = r.contact_id
      WHERE r.flow_id = ? AND s.node_id = 'start' ORDER BY s.finished_at, c.email`, [flowId])).rows as { email: string; finished_at: Date }[];

  it('trigger.schedule starts a run for every contact at each cron time', async () => {
    for (const e of ['s1@example.com', 's2@example.com', 's3@example.com']) await h.call('POST', '/v1/contacts', { email: e });
    const flowId = await createAndPublish(h, flow('Daily', { type: 'trigger.schedule', config: { cron: '0 9 * * *', timezone: 'UTC' } }));
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT23H' });
    expect(await triggerTimes(flowId)).toEqual([]);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT2H' });
    const first = await triggerTimes(flowId);
    expect(first.map((r) => r.email)).toEqual(['s1@example.com', 's2@example.com', 's3@example.com']);
    expect(first.every((r) => r.finished_at.toISOString() === '2026-03-03T09:00:00.000Z')).toBe(true);
    expect((await h.call('GET', '/v1/contacts?email=s1%40example.com')).body.items[0].tags).toEqual(['daily']);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P1D' });
    expect((await triggerTimes(flowId)).length).toBe(6);
  });

  it('trigger.date enrolls each contact at its moment, in its own timezone (DST-correct)', async () => {
    await h.call('POST', '/v1/contacts', { email: 'ny@example.com', timezone: 'America/New_York', properties: { renewal_date: '2026-04-15' } });
    await h.call('POST', '/v1/contacts', { email: 'paris@example.com', timezone: 'Europe/Paris', properties: { renewal_date: '2026-04-10' } });
    await h.call('POST', '/v1/contacts', { email: 'past@example.com', properties: { renewal_date: '2026-03-01' } });
    await h.call('POST', '/v1/contacts', { email: 'none@example.com', properties: { plan: 'pro' } });
    const flowId = await createAndPublish(h, flow('Renewal soon', { type: 'trigger.date', config: { property: 'renewal_date', offset: '-P30D', at: '09:00' } }));
    await h.call('POST', '/v1/_test/clock/advance', { to: '2026-03-20T00:00:00Z' });
    const fired = await triggerTimes(flowId);
    // Paris is UTC+1 in March; New York switched to UTC-4 on 8 March.
    expect(fired.map((r) => [r.email, r.finished_at.toISOString()])).toEqual([
      ['paris@example.com', '2026-03-11T08:00:00.000Z'],
      ['ny@example.com', '2026-03-16T13:00:00.000Z'],
    ]);
    const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items;
    expect(runs.map((r: { status: string }) => r.status)).toEqual(['completed', 'completed']);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P30D' });
    expect((await triggerTimes(flowId)).length).toBe(2);
  });

  it('trigger.schedule honours re-entry: a contact still in the flow is not enrolled again unless reentry is always', async () => {
    await h.call('POST', '/v1/contacts', { email: 'waiter@example.com' });
    const waiting = (name: string, reentry: string) => ({
      ...flow(name, { type: 'trigger.schedule', config: { cron: '0 10 * * *', timezone: 'UTC' } }, reentry),
      nodes: [
        { id: 'start', type: 'trigger.schedule', position: { x: 0, y: 0 }, config: { cron: '0 10 * * *', timezone: 'UTC' } },
        { id: 'wait', type: 'delay', position: { x: 0, y: 120 }, config: { mode: 'duration', duration: 'P5D' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'wait' }],
    });
    const once = await createAndPublish(h, waiting('Once while open', 'after_exit'));
    const every = await createAndPublish(h, waiting('Every time', 'always'));
    // Two cron times pass while the first runs are still in their 5-day delay.
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P2D' });
    const openRuns = async (flowId: string) => Number((await h.t.db.raw(
      `SELECT count(*) AS n FROM runs r JOIN contacts c ON c.id = r.contact_id
        WHERE r.flow_id = ? AND c.email = 'waiter@example.com' AND r.status IN ('active','waiting')`, [flowId])).rows[0].n);
    expect(await openRuns(once)).toBe(1);
    expect(await openRuns(every)).toBe(2);
  });

  it('refuses to publish a segment trigger naming a segment that does not exist', async () => {
    const created = await h.call('POST', '/v1/flows', flow('Segment', { type: 'trigger.segment', config: { segment: 'vip', on: 'enter' } }));
    const pub = await h.call('POST', `/v1/flows/${created.body.id}/publish`, {});
    expect(pub.status).toBe(422);
    expect(pub.body.errors).toContainEqual(expect.objectContaining({ node_id: 'start', path: '/nodes/0/config/segment' }));
  });
});
