import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, leadRoutingFlow, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';

describe('W1 lead routing flow', () => {
  let h: Harness;
  let owners: Record<string, string>;
  beforeAll(async () => {
    h = await startHarness({ clock: 'system' });
    owners = await seedEnterprisePool(h);
  });
  afterAll(async () => h?.close());

  it('routes 3,000 events: runs completed = events, owners within one, every run has its steps', async () => {
    const flowId = await createAndPublish(h, leadRoutingFlow());
    const N = 3000;
    let enterprise = 0;
    const events = Array.from({ length: N }, (_, i) => {
      const big = i % 2 === 0;
      if (big) enterprise++;
      return { type: 'lead.created', contact: { email: `lead${i}@example.com`, properties: { country: big ? (i % 4 === 0 ? 'US' : 'CA') : 'FR', employees: big ? 50 + i : 10, score: i } } };
    });
    for (let i = 0; i < N; i += 500) {
      const r = await h.call('POST', '/v1/events/batch', { events: events.slice(i, i + 500) });
      expect(r.status).toBe(202);
    }
    await h.engine.drain(120_000);

    const runs = await h.t.db.raw(`SELECT status, count(*)::int AS n FROM runs WHERE flow_id = ? GROUP BY status`, [flowId]);
    expect(runs.rows).toEqual([{ status: 'completed', n: N }]);
    const perOwner = await h.t.db.raw(`SELECT owner_id, count(*)::int AS n FROM contacts WHERE workspace_id = ? AND owner_id IS NOT NULL GROUP BY owner_id`, [h.workspaceId]);
    const counts = (perOwner.rows as { owner_id: string; n: number }[]).map((r) => r.n);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(enterprise);
    expect(new Set((perOwner.rows as { owner_id: string }[]).map((r) => r.owner_id))).toEqual(new Set(Object.values(owners)));
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    const tagged = await h.t.db.raw(`SELECT count(*)::int AS n FROM contacts WHERE workspace_id = ? AND 'nurture' = ANY(tags)`, [h.workspaceId]);
    expect(tagged.rows[0].n).toBe(N - enterprise);
    // Every run: trigger, condition, and one action, each recorded as completed.
    const steps = await h.t.db.raw(
      `SELECT count(*)::int AS runs FROM (SELECT r.id FROM runs r JOIN run_step_history s ON s.run_id = r.id WHERE r.flow_id = ?
         GROUP BY r.id HAVING count(*) = 3 AND bool_and(s.status = 'completed')
           AND array_agg(s.node_id ORDER BY s.ord) IN (ARRAY['start','big','assign'], ARRAY['start','big','nurture'])) x`,
      [flowId],
    );
    expect(steps.rows[0].runs).toBe(N);

    const stats = await h.call('GET', `/v1/flows/${flowId}/stats`);
    expect(stats.body.runs).toMatchObject({ active: 0, completed: N, failed: 0 });
    expect(stats.body.nodes.start).toEqual({ entered: N, completed: N, failed: 0, waiting: 0 });
    expect(stats.body.nodes.assign.completed).toBe(enterprise);
    expect(stats.body.nodes.nurture.completed).toBe(N - enterprise);

    const one = await h.call('GET', `/v1/runs?flow_id=${flowId}&limit=1`);
    const run = await h.call('GET', `/v1/runs/${one.body.items[0].id}`);
    expect(run.body.steps.map((s: { node_id: string }) => s.node_id).slice(0, 2)).toEqual(['start', 'big']);
  });
});
