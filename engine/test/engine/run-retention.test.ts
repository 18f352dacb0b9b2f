import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneRuns } from '../../src/runner/postgres/runs/retention.ts';
import { createAndPublish, leadRoutingFlow, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';

const node = (id: string, type: string, config: Record<string, unknown>, y = 0) => ({ id, type, position: { x: 0, y }, config });

/** A/B split with a 20% holdout and a goal: branch a waits 2 days (goal events convert it), b ends at once. */
const nurture = {
  schema: 'cairn.flow/v1', name: 'Trial nurture', settings: { reentry: 'after_exit', goal: { event: 'trial.converted' }, exit_on: [] },
  nodes: [
    node('start', 'trigger.event', { event: 'signup.completed' }),
    node('ab', 'split', { branches: [{ key: 'a', weight: 50 }, { key: 'b', weight: 50 }], holdout: 20 }, 100),
    node('wait_a', 'delay', { mode: 'duration', duration: 'P2D' }, 200),
    node('tag_b', 'action.tag', { add: ['b'] }, 200),
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'ab' },
    { id: 'e2', source: 'ab', sourceHandle: 'a', target: 'wait_a' },
    { id: 'e3', source: 'ab', sourceHandle: 'b', target: 'tag_b' },
  ],
};
/** Sends one email (to the development outbox) and ends. */
const welcome = {
  schema: 'cairn.flow/v1', name: 'Welcome email', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
  nodes: [node('start', 'trigger.event', { event: 'signup.completed' }), node('mail', 'action.send_email', { subject: 'Welcome', text: 'Hello' }, 100)],
  edges: [{ id: 'e1', source: 'start', target: 'mail' }],
};
/** Stays open for a year: its runs are never pruned while they wait. */
const longWait = {
  schema: 'cairn.flow/v1', name: 'Anniversary', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
  nodes: [node('start', 'trigger.event', { event: 'signup.completed' }), node('wait', 'delay', { mode: 'duration', duration: 'P365D' }, 100)],
  edges: [{ id: 'e1', source: 'start', target: 'wait' }],
};

/** Open for 50 days: past a 40-day window while still open, so pruning keeps it, then deletes it once it has ended. */
const midWait = {
  schema: 'cairn.flow/v1', name: 'Trial follow-up', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
  nodes: [node('start', 'trigger.event', { event: 'signup.completed' }), node('wait', 'delay', { mode: 'duration', duration: 'P50D' }, 100)],
  edges: [{ id: 'e1', source: 'start', target: 'wait' }],
};

/**
 * Retention of run rows (docs/operations.md §Retention) on the test clock: ended runs past runs_days are deleted in
 * batches after their KPI figures went to the roll-ups; GET /v1/kpis and the flow statistics answer the same, open
 * runs stay, and a further cycle of W1 leads reuses the freed space instead of growing the runs table.
 */
describe('retention of run rows (test clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  const flows: Record<string, string> = {};
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    await seedEnterprisePool(h);
    flows.leads = await createAndPublish(h, leadRoutingFlow());
    flows.nurture = await createAndPublish(h, nurture);
    flows.welcome = await createAndPublish(h, welcome);
    flows.longWait = await createAndPublish(h, longWait);
    flows.midWait = await createAndPublish(h, midWait);
  });
  afterAll(async () => h?.close());

  let seq = 0;
  const post = async (events: Record<string, unknown>[]) => {
    for (let i = 0; i < events.length; i += 250) expect((await h.call('POST', '/v1/events/batch', { events: events.slice(i, i + 250) })).status).toBe(202);
    await h.engine.drain();
  };
  const leads = (n: number) => post(Array.from({ length: n }, () => {
    const k = seq++;
    return { type: 'lead.created', contact: { email: `lead-${k}@example.com`, properties: { country: k % 2 ? 'US' : 'FR', employees: 500 } } };
  }));
  const count = async (sql: string, bindings: string[] = []) => Number((await h.t.db.raw(sql, [h.workspaceId, ...bindings])).rows[0].n);
  const runsOf = (flowId: string) => count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND flow_id = ?`, [flowId]);
  const advanceDays = async (days: number) => {
    await h.engine.advanceClock(new Date(h.ctx.clock.now().getTime() + days * 86_400_000));
  };
  /** Everything that reads run rows: KPIs over whole UTC days (by day and by week, all flows and one), flow statistics. */
  const snapshot = async () => {
    const out: Record<string, unknown> = {};
    for (const q of ['interval=day', 'interval=week', `interval=day&flow_id=${flows.nurture}`, `interval=month&flow_id=${flows.welcome}`]) {
      const res = await h.call('GET', `/v1/kpis?from=2026-02-20T00:00:00Z&to=2026-03-20T00:00:00Z&${q}`);
      expect(res.status).toBe(200);
      out[q] = res.body;
    }
    for (const [name, id] of Object.entries(flows)) out[name] = (await h.call('GET', `/v1/flows/${id}/stats`)).body;
    return out;
  };

  it('PUT /v1/settings/retention takes runs_days, at least run_steps_days (a run\'s steps go with it)', async () => {
    expect((await h.call('GET', '/v1/settings/retention')).body).toEqual({ run_steps_days: null, events_days: null, runs_days: null });
    const shorter = await h.call('PUT', '/v1/settings/retention', { run_steps_days: 30, runs_days: 3 });
    expect(shorter.status).toBe(400);
    expect(JSON.stringify(shorter.body)).toContain('runs_days');
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: null, runs_days: 40 })).status).toBe(400);
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 10, runs_days: 0 })).status).toBe(400);
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 10, runs_days: 10 })).body).toEqual({ run_steps_days: 10, events_days: null, runs_days: 10 });
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 10 })).body).toEqual({ run_steps_days: 10, events_days: null, runs_days: null });
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: null })).body).toEqual({ run_steps_days: null, events_days: null, runs_days: null });
  });

  it('past the window ended runs are gone, open runs stay, and KPIs and flow statistics answer the same', async () => {
    await leads(300);
    const signups = Array.from({ length: 200 }, (_, i) => ({ type: 'signup.completed', contact: { email: `s-${i}@example.com` } }));
    await post(signups);
    // A day later, a third of the contacts reach the goal: branch a converts (still waiting), holdout and b have ended.
    await advanceDays(1);
    await post(signups.filter((_, i) => i % 3 === 0).map((s) => ({ type: 'trial.converted', contact: s.contact })));
    // Opens of five welcome emails (what tracking records: the run and node).
    const mails = (await h.t.db.raw(
      `SELECT m.run_id, c.email FROM email_messages m JOIN contacts c ON c.id = m.contact_id WHERE m.workspace_id = ? AND m.status = 'sent' ORDER BY c.email LIMIT 5`,
      [h.workspaceId],
    )).rows as { run_id: string; email: string }[];
    expect(mails).toHaveLength(5);
    await post(mails.map((m) => ({ type: 'email.opened', contact: { email: m.email }, properties: { run_id: m.run_id, node_id: 'mail' } })));
    await advanceDays(3);
    expect(await count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status = 'converted'`)).toBeGreaterThan(10);
    expect(await count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status IN ('active','waiting')`)).toBe(400);

    const before = await snapshot();
    const nurtureKpi = (before['interval=day'] as { flows: { flow_id: string; holdout: { entered: number; converted: number } }[] }).flows
      .find((f) => f.flow_id === flows.nurture)!;
    expect(nurtureKpi.holdout.entered).toBeGreaterThan(10);
    expect(nurtureKpi.holdout.converted).toBeGreaterThan(0);

    // Step detail goes after 10 days (split branches go to their roll-up), run rows after 40.
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 10, runs_days: 40 })).status).toBe(200);
    await advanceDays(10);
    expect(await count(`SELECT count(*) AS n FROM run_step_history s JOIN runs r ON r.id = s.run_id WHERE s.workspace_id = ? AND r.status NOT IN ('active','waiting')`)).toBe(0);
    expect(await runsOf(flows.nurture)).toBe(200);
    expect(await count(`SELECT count(*) AS n FROM run_split_rollups WHERE workspace_id = ?`)).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(before);

    await advanceDays(30);
    expect(await runsOf(flows.leads)).toBe(0);
    expect(await runsOf(flows.nurture)).toBe(0);
    expect(await runsOf(flows.welcome)).toBe(0);
    // Open runs are never deleted, even past the window.
    expect(await runsOf(flows.longWait)).toBe(200);
    expect(await runsOf(flows.midWait)).toBe(200);
    expect(await count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status = 'waiting'`)).toBe(400);
    expect(await count(`SELECT sum(entered) AS n FROM run_rollups WHERE workspace_id = ?`)).toBe(700);
    expect(await count(`SELECT count(*) AS n FROM email_messages WHERE workspace_id = ? AND flow_id = ?`, [flows.welcome])).toBe(200);
    expect((await h.call('GET', `/v1/runs/${mails[0]!.run_id}`)).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it('under steady load with a 30-day window the runs table (heap and indexes) stops growing', async () => {
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 30, runs_days: 30 })).status).toBe(200);
    const size = async () => (await h.t.db.raw(`SELECT pg_relation_size('runs')::int8 AS heap, pg_indexes_size('runs')::int8 AS indexes`)).rows[0] as { heap: string; indexes: string };
    // A cycle of leads every 16 days: each prune removes the previous cycle (32 days old at the next one) while the
    // latest stays. After autovacuum's pass (made explicit here) each cycle reuses the space the pruned one left.
    const heap: number[] = [];
    const indexes: number[] = [];
    for (let i = 0; i < 6; i++) {
      await leads(600);
      await advanceDays(16);
      // This cycle's 600 leads (inside the window), the previous cycle pruned.
      expect(await runsOf(flows.leads)).toBe(600);
      await h.t.db.raw('VACUUM runs');
      const s = await size();
      heap.push(Number(s.heap));
      indexes.push(Number(s.indexes));
    }
    // Heap pages freed by a prune are reused by the next cycle. A band, not equality: VACUUM truncates empty tail
    // pages, and where the next cycle's rows land depends on which pages vacuum (this one, or the engine's keeper)
    // had freed by then (seen once under load: 12 KiB over a band of 64 KiB). One unpruned cycle of 600 lead runs adds
    // some 380 KiB (~650 bytes of heap per run, docs/operations.md §Storage and sizing), four times this band.
    // Index pages emptied by a prune are recycled once no older transaction runs anywhere on the server (PostgreSQL's
    // global xmin horizon), which a shared test server does not promise: in the message, not asserted (seen: 475,136
    // rising to 827,392 bytes by the fourth cycle, then flat).
    const band = Math.max(...heap.slice(0, 3));
    expect(Math.max(...heap.slice(3)), `runs heap bytes per cycle: ${heap.join(', ')}; index bytes: ${indexes.join(', ')}`)
      .toBeLessThanOrEqual(band + 96 * 1024);
    // The follow-up runs were still open when pruning first passed them (day 44 of 50): revisited once they had ended
    // and their window had passed, they went too; the year-long ones are still waiting.
    expect(await runsOf(flows.midWait)).toBe(0);
    expect(await runsOf(flows.longWait)).toBe(200);
    expect(await count(`SELECT sum(entered) AS n FROM run_rollups WHERE workspace_id = ?`)).toBe(700 + 200 + 5 * 600);
  });

  it('pruning holds no lock ingestion waits on: leads (returning and new) run to the end while a prune\'s transaction is open', async () => {
    const latest = (await h.t.db.raw(
      `SELECT c.email FROM runs r JOIN contacts c ON c.id = r.contact_id WHERE r.workspace_id = ? AND r.flow_id = ? ORDER BY c.email LIMIT 100`,
      [h.workspaceId, flows.leads],
    )).rows as { email: string }[];
    expect(latest).toHaveLength(100);
    const rolled = await count(`SELECT sum(entered) AS n FROM run_rollups WHERE workspace_id = ?`);
    // The whole prune in one transaction (the engine commits every 500 runs): every lock it takes, held at once.
    await h.t.db.transaction(async (trx) => {
      expect(await pruneRuns(trx, new Date(h.ctx.clock.now().getTime() + 40 * 86_400_000))).toBe(600);
      // Meanwhile: the contacts whose old runs it is deleting come back, and new leads arrive; all run to the end.
      await post([
        ...latest.map((l) => ({ type: 'lead.created', contact: { email: l.email, properties: { country: 'US', employees: 500 } } })),
        ...Array.from({ length: 100 }, () => ({ type: 'lead.created', contact: { email: `lead-${seq++}@example.com`, properties: { country: 'FR', employees: 500 } } })),
      ]);
      expect(await count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND flow_id = ? AND status = 'completed'`, [flows.leads])).toBe(800);
    });
    expect(await runsOf(flows.leads)).toBe(200);
    expect(await count(`SELECT sum(entered) AS n FROM run_rollups WHERE workspace_id = ?`)).toBe(rolled + 600);
  });
});
