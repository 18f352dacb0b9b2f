import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createWorkspace } from '../../src/crm/workspaces.ts';
import { eventually, startHarness, type Harness } from '../engine-harness.ts';
import { DAY, enrolSignups, postBatches, yearOfEvents } from './year.ts';

const CONTACTS = 3000;

describe('GET /v1/kpis on a generated year (3,000 contacts, holdout 10%; clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  let nurtureId: string;
  let welcomeId: string;
  const sql = async <T>(text: string, bindings: string[]) => (await h.t.db.raw(text, [h.workspaceId, ...bindings])).rows as T[];

  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    const now = Date.parse((await h.call('GET', '/v1/_test/clock')).body.now);
    const events = yearOfEvents({ contacts: CONTACTS, seed: 13, now, spendChannel: 'search' });
    // A non-numeric score and amount are ignored, as docs/kpis.md says.
    const at = (t: number) => new Date(t).toISOString();
    events.push({ type: 'nps.responded', contact: { email: 'c1@example.com' }, properties: { score: 'ten' }, occurred_at: at(now - 5 * DAY) });
    events.push({ type: 'order.completed', contact: { email: 'c1@example.com' }, properties: { amount: 'lots' }, occurred_at: at(now - 5 * DAY) });
    await postBatches(h, events);
    ({ nurtureId, welcomeId } = await enrolSignups(h, CONTACTS, 120_000));

    // The planted effect: 30% of treated contacts convert, 20% of held-out ones (absolute lift 0.10).
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P1D' });
    const arms = await sql<{ email: string; held: boolean }>(
      `SELECT c.email, r.status = 'completed' AS held FROM runs r JOIN contacts c ON c.id = r.contact_id
        WHERE r.workspace_id = ? AND r.flow_id = ? ORDER BY c.email`, [nurtureId]);
    const goals: Record<string, unknown>[] = [];
    let treatedN = 0; let heldN = 0; let treatedGoals = 0;
    for (const a of arms) {
      const k = a.held ? heldN++ : treatedN++;
      if (k % 10 >= (a.held ? 2 : 3)) continue;
      goals.push({ type: 'trial.converted', contact: { email: a.email } });
      if (!a.held) treatedGoals++;
    }
    await postBatches(h, goals);
    await eventually(async () => {
      const [r] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM runs WHERE workspace_id = ? AND flow_id = ? AND status = 'converted'`, [nurtureId]);
      return r!.n === treatedGoals;
    }, 120_000);
    // Planner statistics for the bulk-loaded year, as autovacuum would gather them within a minute in a deployment.
    await h.t.db.raw('ANALYZE events, runs, run_steps, contact_activity');
  }, 600_000);
  afterAll(async () => h?.close());

  const FROM = '2025-09-01T00:00:00.000Z';
  const TO = '2026-03-05T00:00:00.000Z';

  it('conversion per flow, version and split branch; holdout rate and lift with a 95% interval covering the planted effect', async () => {
    const res = await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}`);
    expect(res.status).toBe(200);
    const flow = res.body.flows.find((f: { flow_id: string }) => f.flow_id === nurtureId);
    const [runs] = await sql<{ entered: number; converted: number }>(
      `SELECT count(*)::int AS entered, sum((status = 'converted')::int)::int AS converted FROM runs
        WHERE workspace_id = ? AND flow_id = ? AND started_at >= ? AND started_at < ?`, [nurtureId, FROM, TO]);
    expect(flow).toMatchObject({ flow_id: nurtureId, entered: runs!.entered, converted: runs!.converted, conversion_rate: runs!.converted / runs!.entered });
    expect(runs!.entered).toBe(CONTACTS);
    expect(flow.versions).toEqual([{ version: 1, entered: CONTACTS, converted: runs!.converted, conversion_rate: runs!.converted / CONTACTS }]);

    // Independently: each run's arm from its split step, conversion as a goal event after entering and before `to`.
    const armRows = (await h.t.db.raw(
      `SELECT s.output->>'branch' AS arm, count(*)::int AS n, sum((r.status = 'converted')::int)::int AS runs_converted,
              sum((g.first_goal IS NOT NULL)::int)::int AS reached
         FROM runs r
         JOIN run_step_history s ON s.run_id = r.id AND s.node_id = 'ab'
         LEFT JOIN LATERAL (SELECT min(e.occurred_at) AS first_goal FROM events e
                             WHERE e.workspace_id = r.workspace_id AND e.contact_id = r.contact_id AND e.type = 'trial.converted' AND e.occurred_at >= r.started_at AND e.occurred_at < ?::timestamptz) g ON true
        WHERE r.workspace_id = ? AND r.flow_id = ? AND r.started_at >= ? AND r.started_at < ? GROUP BY 1`,
      [TO, h.workspaceId, nurtureId, FROM, TO],
    )).rows as { arm: string | null; n: number; runs_converted: number; reached: number }[];
    const held = armRows.find((a) => a.arm === null)!;
    const treated = armRows.filter((a) => a.arm !== null).reduce((s, a) => ({ n: s.n + a.n, x: s.x + a.reached }), { n: 0, x: 0 });
    expect(held.n / CONTACTS).toBeGreaterThan(0.07);
    expect(held.n / CONTACTS).toBeLessThan(0.13);
    expect(flow.holdout).toEqual({ entered: held.n, converted: held.reached, conversion_rate: held.reached / held.n });
    expect(flow.splits).toHaveLength(1);
    expect(flow.splits[0]).toMatchObject({ node_id: 'ab', holdout_pct: 10 });
    for (const key of ['a', 'b']) {
      const a = armRows.find((r) => r.arm === key)!;
      expect(flow.splits[0].branches.find((b: { key: string }) => b.key === key)).toEqual({ key, entered: a.n, converted: a.runs_converted, conversion_rate: a.runs_converted / a.n });
    }
    const p1 = treated.x / treated.n; const p0 = held.reached / held.n;
    const se = Math.sqrt(p1 * (1 - p1) / treated.n + p0 * (1 - p0) / held.n);
    expect(flow.lift.absolute).toBeCloseTo(p1 - p0, 12);
    expect(flow.lift.ci_low).toBeCloseTo(p1 - p0 - 1.959963984540054 * se, 12);
    expect(flow.lift.ci_high).toBeCloseTo(p1 - p0 + 1.959963984540054 * se, 12);
    expect(flow.lift.confidence).toBe(0.95);
    expect(flow.lift.ci_low).toBeLessThan(0.1);
    expect(flow.lift.ci_high).toBeGreaterThan(0.1);
    expect(flow.lift.ci_low).toBeGreaterThan(0); // the planted effect is real, and the interval says so
  });

  it('a flow without a goal reports no conversion figure (null, not 0)', async () => {
    const res = await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}&flow_id=${welcomeId}`);
    expect(res.status).toBe(200);
    expect(res.body.flows).toHaveLength(1);
    expect(res.body.flows[0]).toMatchObject({ flow_id: welcomeId, entered: CONTACTS, converted: null, conversion_rate: null, has_goal: false, splits: [] });
    expect(res.body.flows[0].holdout).toBeUndefined();
  });

  // Whole days come from the daily roll-up, partial days at either end from the raw events: both kinds of period.
  const PERIODS = [[FROM, TO], ['2025-09-01T13:17:00.000Z', '2026-03-04T07:45:30.000Z']];

  it.each(PERIODS)('churn, retention, NPS, CSAT, CLV and CAC equal independent SQL over the raw events (%s – %s)', async (FROM, TO) => {
    const res = await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}&churn_window_days=60`);
    expect(res.status).toBe(200);
    const k = res.body;
    const W = 60 * DAY;
    const from = new Date(FROM); const to = new Date(TO);
    // Churn: per contact, last order before the period, any order in the last window, an explicit churn event.
    const [churn] = (await h.t.db.raw(
      `WITH per AS (
         SELECT contact_id,
                bool_or(type = 'order.completed' AND occurred_at >= ? AND occurred_at < ?) AS active,
                bool_or(type = 'order.completed' AND occurred_at >= ? AND occurred_at < ?) AS bought_late,
                bool_or(type = 'customer.churned' AND occurred_at >= ? AND occurred_at < ?) AS said_churned
           FROM events WHERE workspace_id = ? GROUP BY contact_id)
       SELECT count(*) FILTER (WHERE active)::int AS active, count(*) FILTER (WHERE active AND (said_churned OR NOT bought_late))::int AS churned FROM per`,
      [new Date(from.getTime() - W), from, new Date(to.getTime() - W), to, from, to, h.workspaceId],
    )).rows as { active: number; churned: number }[];
    expect(churn!.active).toBeGreaterThan(500);
    expect(k.active_at_start).toBe(churn!.active);
    expect(k.churned).toBe(churn!.churned);
    expect(k.churn_rate).toBeCloseTo(churn!.churned / churn!.active, 12);
    expect(k.retention_rate).toBeCloseTo(1 - churn!.churned / churn!.active, 12);

    const scores = (await h.t.db.raw(
      `SELECT type, (properties->>'score')::int AS score FROM events
        WHERE workspace_id = ? AND type IN ('nps.responded', 'csat.responded') AND occurred_at >= ? AND occurred_at < ? AND properties->>'score' ~ '^[0-9]+$'`,
      [h.workspaceId, from, to],
    )).rows as { type: string; score: number }[];
    const nps = scores.filter((s) => s.type === 'nps.responded').map((s) => s.score);
    const csat = scores.filter((s) => s.type === 'csat.responded').map((s) => s.score);
    expect(nps.length).toBeGreaterThan(300);
    expect(k.nps_responses).toBe(nps.length);
    expect(k.nps).toBeCloseTo((100 * (nps.filter((s) => s >= 9).length - nps.filter((s) => s <= 6).length)) / nps.length, 10);
    expect(k.nps_distribution).toEqual(Array.from({ length: 11 }, (_, v) => nps.filter((s) => s === v).length));
    expect(k.csat_responses).toBe(csat.length);
    expect(k.csat).toBeCloseTo((100 * csat.filter((s) => s >= 4).length) / csat.length, 10);

    const [money] = (await h.t.db.raw(
      `SELECT (SELECT sum((properties->>'amount')::numeric) FROM events WHERE workspace_id = ? AND type = 'order.completed'
                 AND occurred_at >= ? AND occurred_at < ? AND properties->>'amount' ~ '^[0-9.]+$')::float8 AS revenue,
              (SELECT count(DISTINCT contact_id) FROM events WHERE workspace_id = ? AND type = 'order.completed' AND occurred_at >= ? AND occurred_at < ?)::int AS buyers,
              (SELECT sum((properties->>'amount')::numeric) FROM events WHERE workspace_id = ? AND type = 'marketing.spend' AND occurred_at >= ? AND occurred_at < ?)::float8 AS spend,
              (SELECT count(*) FROM (SELECT DISTINCT ON (contact_id) contact_id, occurred_at FROM events
                 WHERE workspace_id = ? AND type = 'order.completed' ORDER BY contact_id, occurred_at) firsts
                 WHERE occurred_at >= ? AND occurred_at < ?)::int AS new_customers`,
      [h.workspaceId, from, to, h.workspaceId, from, to, h.workspaceId, from, to, h.workspaceId, from, to],
    )).rows as { revenue: number; buyers: number; spend: number; new_customers: number }[];
    expect(k.revenue).toBeCloseTo(money!.revenue, 6);
    expect(k.buyers).toBe(money!.buyers);
    const churnRate = churn!.churned / churn!.active;
    expect(k.clv_avg).toBeCloseTo((money!.revenue / money!.buyers) * Math.min(1 / churnRate, 10), 6);
    expect(money!.new_customers).toBeGreaterThan(0);
    expect(k.spend).toBeCloseTo(money!.spend, 6);
    expect(k.new_customers).toBe(money!.new_customers);
    expect(k.cac).toBeCloseTo(money!.spend / money!.new_customers, 6);
  });

  it.each(['2026-04-01T00:00:00.000Z', '2026-03-31T15:30:00.000Z'])('a monthly series and cohort retention over the year equal SQL over the raw events (to %s)', async (to) => {
    const from = '2025-03-01T00:00:00.000Z';
    const res = await h.call('GET', `/v1/kpis?from=${from}&to=${to}&interval=month`);
    expect(res.status).toBe(200);
    expect(res.body.series).toHaveLength(13);
    const months = (await h.t.db.raw(
      `SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') AS m, count(*)::int AS orders,
              coalesce(sum(CASE WHEN properties->>'amount' ~ '^[0-9.]+$' THEN (properties->>'amount')::numeric END), 0)::float8 AS revenue
         FROM events WHERE workspace_id = ? AND type = 'order.completed' AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`,
      [h.workspaceId, from, to],
    )).rows as { m: string; orders: number; revenue: number }[];
    for (const b of res.body.series as { start: string; orders: number; revenue: number; entered: number }[]) {
      const m = months.find((x) => x.m === b.start.slice(0, 7));
      expect(b.orders).toBe(m?.orders ?? 0);
      expect(b.revenue).toBeCloseTo(m?.revenue ?? 0, 6);
    }
    expect(res.body.series.find((b: { start: string }) => b.start.startsWith('2026-03')).entered).toBe(2 * CONTACTS);

    const cells = (await h.t.db.raw(
      `WITH o AS (SELECT contact_id, occurred_at AT TIME ZONE 'UTC' AS t FROM events WHERE workspace_id = ? AND type = 'order.completed' AND occurred_at < ?),
            f AS (SELECT contact_id, min(t) AS first FROM o GROUP BY 1)
       SELECT to_char(f.first, 'YYYY-MM') AS cohort,
              (date_part('year', age(date_trunc('month', o.t), date_trunc('month', f.first))) * 12
               + date_part('month', age(date_trunc('month', o.t), date_trunc('month', f.first))))::int AS k,
              count(DISTINCT o.contact_id)::int AS n
         FROM f JOIN o USING (contact_id) WHERE f.first >= ? GROUP BY 1, 2`,
      [h.workspaceId, to, from],
    )).rows as { cohort: string; k: number; n: number }[];
    const cohorts = res.body.cohorts as { cohort: string; size: number; retained: number[] }[];
    expect(cohorts.length).toBeGreaterThan(10);
    for (const c of cohorts) {
      const size = cells.find((x) => x.cohort === c.cohort && x.k === 0)!.n;
      expect(c.size).toBe(size);
      c.retained.forEach((r, kk) => expect(r).toBeCloseTo((cells.find((x) => x.cohort === c.cohort && x.k === kk)?.n ?? 0) / size, 12));
    }
  });

  it('lifecycle-stage funnel of the contacts created in the period equals SQL over the contacts', async () => {
    // Stages spread over the contacts (some unknown, some none), as PATCH /v1/contacts would set them.
    await h.t.db.raw(
      `UPDATE contacts SET lifecycle_stage = (ARRAY['subscriber','lead','lead','marketing_qualified_lead','sales_qualified_lead','opportunity','customer','customer','evangelist','partner',NULL])[1 + abs(hashtext(email)) % 11]
        WHERE workspace_id = ?`, [h.workspaceId]);
    const from = '2026-03-01T00:00:00.000Z'; const to = '2026-03-05T00:00:00.000Z';
    const res = await h.call('GET', `/v1/kpis?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    const rows = await sql<{ stage: string | null; n: number }>(
      `SELECT lifecycle_stage AS stage, count(*)::int AS n FROM contacts WHERE workspace_id = ? AND created_at >= ? AND created_at < ? GROUP BY 1`, [from, to]);
    const n = (st: string | null) => rows.find((r) => r.stage === st)?.n ?? 0;
    const order = ['subscriber', 'lead', 'marketing_qualified_lead', 'sales_qualified_lead', 'opportunity', 'customer', 'evangelist'];
    const reached = order.map((_, i) => order.slice(i).reduce((sum, st) => sum + n(st), 0));
    const f = res.body.funnel;
    expect(f.contacts).toBe(rows.reduce((sum, r) => sum + r.n, 0));
    expect(f.contacts).toBeGreaterThan(CONTACTS - 10);
    expect(f.stages.map((st: { stage: string }) => st.stage)).toEqual(order);
    f.stages.forEach((st: { current: number; reached: number; rate_from_previous: number | null }, i: number) => {
      expect(st.current).toBe(n(order[i]!));
      expect(st.reached).toBe(reached[i]);
      if (i === 0) expect(st.rate_from_previous).toBeNull();
      else expect(st.rate_from_previous).toBeCloseTo(reached[i]! / reached[i - 1]!, 12);
    });
    expect(f.no_stage).toBe(n(null));
    expect(f.other_stages).toEqual({ partner: n('partner') });
    expect(n('partner')).toBeGreaterThan(0);
  });

  it('CLV per segment equals SQL over the raw events of its members', async () => {
    await h.t.db.raw(`UPDATE contacts SET properties = properties || '{"tier":"gold"}' WHERE workspace_id = ? AND abs(hashtext(email)) % 3 = 0`, [h.workspaceId]);
    const seg = await h.call('POST', '/v1/segments', { key: 'gold', name: 'Gold tier', rule: { all: [{ fact: 'contact', path: '$.properties.tier', operator: 'equal', value: 'gold' }] } });
    expect(seg.status).toBe(201);
    // Existing contacts are evaluated in the background.
    await eventually(async () => (await h.call('GET', '/v1/segments/gold')).body.status === 'ready', 60_000);
    const res = await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}&churn_window_days=60`);
    expect(res.status).toBe(200);
    const W = 60 * DAY;
    const from = new Date(FROM); const to = new Date(TO);
    const [x] = (await h.t.db.raw(
      `WITH gold AS (SELECT id FROM contacts WHERE workspace_id = ? AND properties->>'tier' = 'gold'),
            per AS (
              SELECT e.contact_id,
                     bool_or(type = 'order.completed' AND occurred_at >= ? AND occurred_at < ?) AS active,
                     bool_or(type = 'order.completed' AND occurred_at >= ? AND occurred_at < ?) AS bought_late,
                     bool_or(type = 'customer.churned' AND occurred_at >= ? AND occurred_at < ?) AS said_churned,
                     sum(CASE WHEN type = 'order.completed' AND occurred_at >= ? AND occurred_at < ? AND properties->>'amount' ~ '^[0-9.]+$'
                              THEN (properties->>'amount')::numeric END) AS revenue,
                     bool_or(type = 'order.completed' AND occurred_at >= ? AND occurred_at < ?) AS buyer
                FROM events e JOIN gold g ON g.id = e.contact_id WHERE e.workspace_id = ? GROUP BY 1)
       SELECT (SELECT count(*) FROM gold)::int AS members, count(*) FILTER (WHERE active)::int AS active,
              count(*) FILTER (WHERE active AND (said_churned OR NOT bought_late))::int AS churned,
              coalesce(sum(revenue), 0)::float8 AS revenue, count(*) FILTER (WHERE buyer)::int AS buyers FROM per`,
      [h.workspaceId, new Date(from.getTime() - W), from, new Date(to.getTime() - W), to, from, to, from, to, from, to, h.workspaceId],
    )).rows as { members: number; active: number; churned: number; revenue: number; buyers: number }[];
    expect(x!.members).toBeGreaterThan(500);
    expect(x!.buyers).toBeGreaterThan(100);
    const got = res.body.clv_by_segment.find((r: { segment: string }) => r.segment === 'gold');
    const churnRate = x!.churned / x!.active;
    expect(got).toMatchObject({ segment: 'gold', name: 'Gold tier', buyers: x!.buyers });
    expect(got.revenue).toBeCloseTo(x!.revenue, 6);
    expect(got.churn_rate).toBeCloseTo(churnRate, 12);
    expect(got.clv_avg).toBeCloseTo((x!.revenue / x!.buyers) * Math.min(1 / churnRate, 10), 6);
    // A segment without members has no figure, not 0.
    expect(res.body.clv_by_segment.find((r: { segment: string }) => r.segment === 'none_yet') ?? { clv_avg: null }).toMatchObject({ clv_avg: null });
  });

  it('a segment filter counts only its members; another workspace sees none of this data', async () => {
    const seg = await h.call('POST', '/v1/segments', { key: 'none_yet', name: 'Nobody', rule: { all: [{ fact: 'contact', path: '$.properties.vip', operator: 'equal', value: true }] } });
    expect(seg.status).toBe(201);
    const res = await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}&segment=none_yet`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ churn_rate: null, nps: null, csat: null, clv_avg: null, revenue: 0, buyers: 0 });
    expect(res.body.flows.find((f: { flow_id: string }) => f.flow_id === nurtureId).entered).toBe(0);
    expect((await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}&segment=missing`)).status).toBe(404);

    const other = await createWorkspace(h.t.db, { slug: 'kpis-other' });
    const { key } = await createApiKey(h.t.db, { workspaceId: other.id, role: 'viewer' });
    const theirs = await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}`, undefined, key);
    expect(theirs.status).toBe(200);
    expect(theirs.body).toMatchObject({ flows: [], churn_rate: null, nps: null, csat: null, clv_avg: null, cac: null, revenue: 0, buyers: 0, cohorts: [] });
    expect((await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}&flow_id=${nurtureId}`, undefined, key)).status).toBe(404);
  });

  it('bad input answers 400 with the path: from after to, an unknown interval, a range over the maximum', async () => {
    const after = await h.call('GET', `/v1/kpis?from=${TO}&to=${FROM}`);
    expect(after.status).toBe(400);
    expect(after.body.errors).toEqual([expect.objectContaining({ path: '/from' })]);
    const interval = await h.call('GET', `/v1/kpis?from=${FROM}&to=${TO}&interval=fortnight`);
    expect(interval.status).toBe(400);
    expect(interval.body.errors).toEqual([expect.objectContaining({ path: '/interval' })]);
    const long = await h.call('GET', '/v1/kpis?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(long.status).toBe(400);
    expect(long.body.errors).toEqual([expect.objectContaining({ path: '/to' })]);
    const notDate = await h.call('GET', '/v1/kpis?from=yesterday');
    expect(notDate.status).toBe(400);
    expect(notDate.body.errors).toEqual([expect.objectContaining({ path: '/from' })]);
  });
});
