import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, leadRoutingFlow, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';

/**
 * Retention of run step detail (docs/operations.md §Retention) on the test clock: the W1 lead-routing flow runs a
 * cycle of leads, the clock moves past the window, the steps of those runs are pruned (runs, outcomes and counters
 * stay), and a further cycle reuses the freed space instead of growing the table.
 */
describe('retention of run step detail (test clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  let flowId: string;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    await seedEnterprisePool(h);
    flowId = await createAndPublish(h, leadRoutingFlow());
  });
  afterAll(async () => h?.close());

  let seq = 0;
  const cycle = async (leads: number) => {
    for (let i = 0; i < leads; i += 250) {
      const events = Array.from({ length: Math.min(250, leads - i) }, () => {
        const n = seq++;
        return { type: 'lead.created', contact: { email: `lead-${n}@example.com`, properties: { country: n % 2 ? 'US' : 'FR', employees: 500 } } };
      });
      expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
    }
    await h.engine.drain();
  };
  const count = async (sql: string) => Number((await h.t.db.raw(sql, [h.workspaceId])).rows[0].n);
  // Both places steps live: rows while a run waits, its compact record once it ended (migration 0250).
  const steps = () => count(`SELECT count(*) AS n FROM run_step_history WHERE workspace_id = ?`);
  const completedRuns = () => count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status = 'completed'`);
  // The table's own pages. Its index's freed pages are recycled only once no older transaction runs anywhere on
  // the server (PostgreSQL's global xmin horizon), which a shared test server does not promise: not asserted here.
  const heapBytes = async () => Number((await h.t.db.raw(`SELECT pg_relation_size('runs') + pg_relation_size('run_steps') AS n`)).rows[0].n);
  const advanceDays = async (days: number) => {
    await h.engine.advanceClock(new Date(h.ctx.clock.now().getTime() + days * 86_400_000));
  };

  it('PUT /v1/settings/retention validates its body and round-trips; null keeps for ever', async () => {
    expect((await h.call('GET', '/v1/settings/retention')).body).toEqual({ run_steps_days: null, events_days: null, runs_days: null });
    const zero = await h.call('PUT', '/v1/settings/retention', { run_steps_days: 0 });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(zero.body.errors)).toContain('/run_steps_days');
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 30, runs_days: 3 })).status).toBe(400);
    expect((await h.call('PUT', '/v1/settings/retention', {})).status).toBe(400);
    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: null })).body).toEqual({ run_steps_days: null, events_days: null, runs_days: null });
  });

  it('past the window the steps of ended runs are gone, runs and counters stay, and a further cycle grows the tables by its run rows only', async () => {
    await cycle(1000);
    expect(await completedRuns()).toBe(1000);
    expect(await steps()).toBe(3000);
    const sample = (await h.t.db.raw(`SELECT id FROM runs WHERE workspace_id = ? ORDER BY id LIMIT 1`, [h.workspaceId])).rows[0].id as string;
    expect((await h.call('GET', `/v1/runs/${sample}`)).body.steps).toHaveLength(3);

    // Without a retention setting nothing is pruned, however far the clock moves.
    await advanceDays(40);
    expect(await steps()).toBe(3000);

    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 30 })).status).toBe(200);
    // A run still inside the window keeps its steps: one more cycle now, then 10 days (older ones are 50 days old).
    await cycle(10);
    const stats = (await h.call('GET', `/v1/flows/${flowId}/stats`)).body;
    await advanceDays(10);
    expect(await steps()).toBe(30);
    expect(await completedRuns()).toBe(1010);
    const pruned = await h.call('GET', `/v1/runs/${sample}`);
    expect(pruned.status).toBe(200);
    expect(pruned.body.status).toBe('completed');
    expect(pruned.body.steps).toEqual([]);
    // Counters are not step detail: the flow's statistics read the same after pruning.
    expect((await h.call('GET', `/v1/flows/${flowId}/stats`)).body).toEqual(stats);

    // Steady load with a 30-day window: a cycle of leads every 16 days, so each prune removes the previous cycle's
    // steps (32 days old at the next one) while the latest keep theirs. Steps of ended runs live in the run row
    // (compact record, migration 0250): after autovacuum's pass (made explicit here) each cycle's steps reuse the
    // space the pruned ones left, so runs + run_steps grow by the new run rows as they will stay once pruned, not by
    // their step detail too.
    await h.t.db.raw('VACUUM runs, run_steps');
    const heap: number[] = [];
    for (let i = 0; i < 5; i++) {
      await cycle(600);
      await advanceDays(16);
      expect(await steps()).toBe(i === 0 ? 1830 : 1800);
      await h.t.db.raw('VACUUM runs, run_steps');
      heap.push(await heapBytes());
    }
    // Growth is counted in whole pages, over the last three cycles so one page's fragmentation either way does not
    // decide it: each cycle may add the pages its 600 run rows need once pruned (as many as fit on a page, with its
    // line pointer), plus two pages of slack in all (VACUUM truncates empty tail pages). Had the cycle's step detail
    // stayed, its rows (measured below) need several pages more per cycle, so the bound sits clearly between the two.
    const rowBytes = async (pruned: boolean) =>
      count(`SELECT avg(pg_column_size(r.*) + 4)::int AS n FROM runs r WHERE workspace_id = ? AND steps IS ${pruned ? '' : 'NOT '}NULL`);
    const pagesFor = (rows: number, bytesPerRow: number) => Math.ceil(rows / Math.floor((8192 - 24) / bytesPerRow));
    const [prunedRow, fullRow] = [await rowBytes(true), await rowBytes(false)];
    const bound = (3 * pagesFor(600, prunedRow) + 2) * 8192;
    expect(bound, `pruned run row ${prunedRow} bytes, with its steps ${fullRow}`).toBeLessThan(3 * pagesFor(600, fullRow) * 8192);
    expect(heap[4]! - heap[1]!, `heap bytes after each cycle: ${heap.join(', ')}; pruned run row ${prunedRow} bytes`).toBeLessThanOrEqual(bound);
    expect(await completedRuns()).toBe(4010);
  });
});
