import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

/**
 * Retention of events (docs/operations.md §Retention) on the test clock: contacts with a first event, page views,
 * an order and a goal event; past the window the page views go, while every event something is computed from stays (KPI types,
 * flow goal types, each contact's first event, events of open runs), KPIs answer the same, and a further cycle reuses
 * the freed space instead of growing the table.
 */
describe('retention of events (test clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    // A flow whose goal is `trial.converted`: its goal events are kept (KPIs read them), and its open runs keep
    // their trigger events.
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Trial nurture', settings: { reentry: 'after_exit', goal: { event: 'trial.converted' }, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'trial.started' } },
        { id: 'wait', type: 'delay', position: { x: 0, y: 120 }, config: { mode: 'duration', duration: 'P90D' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'wait' }],
    });
  });
  afterAll(async () => h?.close());

  let seq = 0;
  /** `contacts` new contacts, each: signed up (its first event), 3 page views, an order, a goal event. */
  const cycle = async (contacts: number) => {
    const events = [];
    for (let i = 0; i < contacts; i++) {
      const email = `c-${seq++}@example.com`;
      events.push({ type: 'signed.up', contact: { email } });
      for (let v = 0; v < 3; v++) events.push({ type: 'page.viewed', contact: { email }, properties: { path: `/p/${v}` } });
      events.push({ type: 'order.completed', contact: { email }, properties: { amount: 10 } });
      events.push({ type: 'trial.converted', contact: { email } });
    }
    for (let i = 0; i < events.length; i += 500) expect((await h.call('POST', '/v1/events/batch', { events: events.slice(i, i + 500) })).status).toBe(202);
    await h.engine.drain();
  };
  const count = async (where = 'true') => Number((await h.t.db.raw(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND ${where}`, [h.workspaceId])).rows[0].n);
  const advanceDays = async (days: number) => {
    await h.engine.advanceClock(new Date(h.ctx.clock.now().getTime() + days * 86_400_000));
  };
  const kpis = async () => {
    const r = await h.call('GET', '/v1/kpis?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&interval=month');
    expect(r.status).toBe(200);
    return r.body;
  };

  it('PUT /v1/settings/retention takes events_days next to run_steps_days, validated; left out, events are kept for ever', async () => {
    expect((await h.call('GET', '/v1/settings/retention')).body).toEqual({ run_steps_days: null, events_days: null, runs_days: null });
    const zero = await h.call('PUT', '/v1/settings/retention', { run_steps_days: null, events_days: 0 });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(zero.body.errors)).toContain('/events_days');
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: null, events_days: 'P30D' })).status).toBe(400);
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 7, events_days: 30 })).body).toEqual({ run_steps_days: 7, events_days: 30, runs_days: null });
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: null })).body).toEqual({ run_steps_days: null, events_days: null, runs_days: null });
  });

  it('past the window old events go, every event something is computed from stays, KPIs answer the same, and a further cycle does not grow events', async () => {
    await cycle(200);
    // One contact with an open run: its trigger event stays.
    expect((await h.call('POST', '/v1/events', { type: 'trial.started', contact: { email: 'trial@example.com' } })).status).toBe(202);
    await h.engine.drain();
    expect(await count()).toBe(200 * 6 + 1);
    const before = await kpis();

    // Without a setting nothing goes, however far the clock moves.
    await advanceDays(40);
    expect(await count()).toBe(1201);

    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: null, events_days: 30 })).status).toBe(200);
    await advanceDays(1); // pruning runs as the clock moves
    expect(await count(`type = 'page.viewed'`)).toBe(0);
    expect(await count(`type = 'signed.up'`)).toBe(200); // each contact's first event
    expect(await count(`type = 'order.completed'`)).toBe(200); // a KPI type
    expect(await count(`type = 'trial.converted'`)).toBe(200); // a flow's goal type
    expect(await count(`type = 'trial.started'`)).toBe(1); // the trigger event of an open run
    expect(await kpis()).toEqual(before);

    await cycle(5); // inside the window: all six events of each stay
    await advanceDays(1);
    expect(await count(`type = 'page.viewed'`)).toBe(5 * 3);

    // Steady load with a 30-day window: the same 150 contacts view 3 pages each every 16 days, so each prune removes
    // the views of the cycle before the previous one. After autovacuum's pass (made explicit here) each cycle reuses
    // the space the pruned one left: the table stops growing.
    const views = async () => {
      const events = Array.from({ length: 450 }, (_, i) => ({ type: 'page.viewed', contact: { email: `c-${i % 150}@example.com` }, properties: { path: `/p/${i}` } }));
      expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
      await h.engine.drain();
    };
    await h.t.db.raw('VACUUM events');
    const heap: number[] = [];
    for (let i = 0; i < 5; i++) {
      await views();
      await advanceDays(16);
      await h.t.db.raw('VACUUM events');
      heap.push(Number((await h.t.db.raw(`SELECT pg_relation_size('events') AS n`)).rows[0].n));
    }
    const band = Math.max(...heap.slice(0, 3));
    // One unpruned cycle's 450 page views alone would add about 64 KiB: allow a few pages of VACUUM jitter.
    expect(Math.max(heap[3]!, heap[4]!), `heap bytes per cycle: ${heap.join(', ')}`).toBeLessThanOrEqual(band + 3 * 8192);
  });
});
