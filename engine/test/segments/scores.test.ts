import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { churnFactors, churnRisk, type ChurnValues } from '../../src/crm/segments/scores.ts';
import { startHarness, type Harness } from '../engine-harness.ts';
import { prng } from '../prng.ts';
import { segmentReady } from './ready.ts';

const DAY = 86_400_000;

describe('RFM and churn risk (test clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  let now: number;
  const churners = new Set<string>();
  const actives = new Set<string>();
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    now = Date.parse((await h.call('GET', '/v1/_test/clock')).body.now);
    const rand = prng(42);
    const events: Record<string, unknown>[] = [];
    const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
    const order = (email: string, daysAgo: number) => events.push({
      type: 'order.completed', contact: { email }, properties: { amount: 5 * (1 + Math.floor(rand() * 40)) }, occurred_at: at(daysAgo),
    });
    // Planted churners: bought every 15-40 days for months, stopped 100-200 days ago, opened emails until a month ago.
    for (let i = 0; i < 30; i++) {
      const email = `churner${i}@example.com`;
      churners.add(email);
      const interval = 15 + rand() * 25;
      const stopped = 100 + rand() * 100;
      for (let d = stopped; d < 365; d += interval) order(email, d);
      for (let d = 31 + rand() * 5; d < 60; d += 7) events.push({ type: 'email.opened', contact: { email }, occurred_at: at(d) });
    }
    // Active customers: their last purchase lies within their own interval; some one-time buyers, some unhappy.
    for (let i = 0; i < 120; i++) {
      const email = `active${i}@example.com`;
      actives.add(email);
      const count = 1 + Math.floor(rand() * 12);
      const interval = 10 + rand() * 50;
      const last = rand() * interval;
      for (let k = 0; k < count; k++) order(email, last + k * interval);
      if (rand() < 0.2) events.push({ type: 'nps.submitted', contact: { email, properties: { nps: Math.floor(rand() * 7) } } });
      if (rand() < 0.5) events.push({ type: 'page.viewed', contact: { email }, occurred_at: at(rand() * 20) });
    }
    for (let i = 0; i < 10; i++) events.push({ type: 'page.viewed', contact: { email: `window${i}@example.com` }, occurred_at: at(rand() * 60) });
    for (let i = 0; i < events.length; i += 1000) {
      const res = await h.call('POST', '/v1/events/batch', { events: events.slice(i, i + 1000) });
      if (res.status !== 202) throw new Error(JSON.stringify(res.body));
    }
    const recomputed = await h.call('POST', '/v1/scores/recompute', {});
    expect(recomputed.body).toEqual({ customers: 150, window_shoppers: 10 });
  }, 120_000);
  afterAll(async () => h?.close());

  it('RFM scores on a generated data set equal an independent SQL computation of the quintiles over the raw events', async () => {
    const expected = (await h.t.db.raw(
      `WITH c AS (
         SELECT contact_id, max(occurred_at) AS last_at, count(*) AS n_orders, sum((properties->>'amount')::numeric) AS spent
           FROM events WHERE workspace_id = ? AND type = 'order.completed' GROUP BY contact_id
       ), total AS (SELECT count(*) AS n FROM c)
       SELECT contact_id,
              1 + floor(5.0 * (SELECT count(*) FROM c c2 WHERE c2.last_at < c.last_at) / total.n)::int AS r,
              1 + floor(5.0 * (SELECT count(*) FROM c c2 WHERE c2.n_orders < c.n_orders) / total.n)::int AS f,
              1 + floor(5.0 * (SELECT count(*) FROM c c2 WHERE c2.spent < c.spent) / total.n)::int AS m
         FROM c, total ORDER BY contact_id`,
      [h.workspaceId],
    )).rows as { contact_id: string; r: number; f: number; m: number }[];
    const stored = (await h.t.db.raw(
      `SELECT contact_id, r, f, m FROM contact_rfm WHERE workspace_id = ? AND r IS NOT NULL ORDER BY contact_id`, [h.workspaceId],
    )).rows;
    expect(expected).toHaveLength(150);
    expect(stored).toEqual(expected);
    // Each score spreads the customers over all five quintiles.
    for (const k of ['r', 'f', 'm'] as const) expect(new Set(expected.map((e) => e[k])).size).toBe(5);
  });

  it('named groups follow docs/segments.md, including one-time shoppers and window shoppers', async () => {
    const rows = (await h.t.db.raw(
      `SELECT c.email, x.r, x.f, x.m, x.rfm_group, a.count FROM contact_rfm x JOIN contacts c ON c.id = x.contact_id
         LEFT JOIN contact_activity a ON a.workspace_id = x.workspace_id AND a.contact_id = x.contact_id AND a.event_type = 'order.completed'
        WHERE x.workspace_id = ?`, [h.workspaceId],
    )).rows as { email: string; r: number | null; f: number | null; m: number | null; rfm_group: string; count: number | null }[];
    const group = (r: number, f: number, m: number, count: number) =>
      r >= 4 && f >= 4 && m >= 4 ? 'champions'
        : r <= 2 && f >= 4 && m >= 4 ? 'cant_lose_them'
          : r >= 3 && f >= 4 ? 'loyal'
            : r <= 2 && f >= 3 ? 'at_risk'
              : count === 1 && r === 5 ? 'new'
                : count === 1 ? 'one_time_shoppers'
                  : r >= 4 ? 'potential_loyalists'
                    : r >= 2 ? 'hibernating' : 'lost';
    for (const row of rows) {
      if (row.email.startsWith('window')) expect(row).toMatchObject({ rfm_group: 'window_shoppers', r: null });
      else expect(row.rfm_group).toBe(group(row.r!, row.f!, row.m!, row.count!));
    }
    expect(rows.some((r) => r.rfm_group === 'one_time_shoppers')).toBe(true);
    const someone = (await h.call('GET', '/v1/contacts?email=window3%40example.com')).body.items[0];
    const shown = await h.call('GET', `/v1/contacts/${someone.id}/segments`);
    expect(shown.body.rfm).toEqual({ r: null, f: null, m: null, group: 'window_shoppers' });
  });

  it('churn risk ranks the planted churners with ROC AUC ≥ 0.8; every score lists its factors', async () => {
    const stored = (await h.t.db.raw(
      `SELECT c.email, ch.score, ch.recency_ratio, ch.frequency_trend, ch.engagement_decline, ch.nps, ch.open_tickets
         FROM contact_churn ch JOIN contacts c ON c.id = ch.contact_id WHERE ch.workspace_id = ?`, [h.workspaceId],
    )).rows as ({ email: string; score: number } & ChurnValues)[];
    const rows = stored.map((r) => ({ email: r.email, score: r.score, factors: churnFactors(r).factors }));
    expect(rows).toHaveLength(150);
    for (const r of rows) {
      expect(r.factors.map((f) => f.factor)).toEqual(['recency', 'frequency_trend', 'engagement_decline', 'nps_detractor', 'open_support_issues']);
      expect(Math.abs(r.factors.reduce((s, f) => s + f.points, 0) - r.score)).toBeLessThanOrEqual(0.5);
    }
    const pos = rows.filter((r) => churners.has(r.email)).map((r) => r.score);
    const neg = rows.filter((r) => actives.has(r.email)).map((r) => r.score);
    let wins = 0;
    for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
    const auc = wins / (pos.length * neg.length);
    expect(auc).toBeGreaterThanOrEqual(0.8);
    const one = (await h.call('GET', '/v1/contacts?email=churner0%40example.com')).body.items[0];
    const shown = (await h.call('GET', `/v1/contacts/${one.id}/segments`)).body;
    expect(shown.churn_risk.factors).toHaveLength(5);
    expect(shown.churn_risk.score).toBeGreaterThan(50);
  });

  it('the set-based churn statement equals churnRisk (the documented formula) computed per customer from the raw events', async () => {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const since = (d: number) => day(now - d * DAY);
    const events = (await h.t.db.raw(
      `SELECT contact_id, type, occurred_at FROM events WHERE workspace_id = ? AND type NOT IN ('segment.entered', 'segment.exited', 'churn.risk_high')`,
      [h.workspaceId],
    )).rows as { contact_id: string; type: string; occurred_at: Date }[];
    const props = new Map(((await h.t.db.raw(`SELECT id, properties FROM contacts WHERE workspace_id = ?`, [h.workspaceId])).rows as { id: string; properties: Record<string, unknown> }[])
      .map((c) => [c.id, c.properties]));
    const by = new Map<string, typeof events>();
    for (const e of events) by.set(e.contact_id, [...(by.get(e.contact_id) ?? []), e]);
    const expected = new Map<string, ReturnType<typeof churnRisk>>();
    for (const [id, list] of by) {
      const orders = list.filter((e) => e.type === 'order.completed').map((e) => e.occurred_at.getTime());
      if (orders.length === 0) continue;
      const other = list.filter((e) => e.type !== 'order.completed').map((e) => day(e.occurred_at.getTime()));
      const ordersIn = (from: string, to: string | null) => orders.filter((t) => day(t) > from && (to === null || day(t) <= to)).length;
      expected.set(id, churnRisk({
        now: new Date(now),
        purchases: { count: orders.length, firstAt: new Date(Math.min(...orders)), lastAt: new Date(Math.max(...orders)) },
        purchasesRecent: ordersIn(since(90), null), purchasesPrevious: ordersIn(since(180), since(90)),
        engagementRecent: other.filter((d) => d > since(30)).length, engagementPrevious: other.filter((d) => d > since(60) && d <= since(30)).length,
        properties: props.get(id) ?? {},
      }));
    }
    const stored = (await h.t.db.raw(
      `SELECT contact_id, score, recency_ratio, frequency_trend, engagement_decline, nps, open_tickets FROM contact_churn WHERE workspace_id = ?`, [h.workspaceId],
    )).rows as ({ contact_id: string; score: number } & ChurnValues)[];
    expect(stored).toHaveLength(expected.size);
    for (const r of stored) {
      expect({ id: r.contact_id, ...churnFactors(r) }).toEqual({ id: r.contact_id, ...expected.get(r.contact_id)! });
      expect(r.score).toBe(expected.get(r.contact_id)!.score);
    }
    expect(new Set(stored.map((r) => r.score)).size).toBeGreaterThan(10);
  });

  it('the churn.risk_high threshold is a workspace setting (GET/PUT /v1/settings/churn); a later upward crossing of the new one is recorded', async () => {
    expect((await h.call('GET', '/v1/settings/churn')).body).toEqual({ threshold: 70 });
    const bad = await h.call('PUT', '/v1/settings/churn', { threshold: 101 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('/threshold');
    // A customer below 70 without the NPS factor: the threshold goes to its score + 10, then a detractor NPS adds 15.
    const low = (await h.t.db.raw(
      `SELECT ch.contact_id, ch.score FROM contact_churn ch WHERE ch.workspace_id = ? AND ch.score < 60
          AND (ch.nps IS NULL OR ch.nps > 6)
        ORDER BY ch.contact_id LIMIT 1`, [h.workspaceId],
    )).rows[0] as { contact_id: string; score: number };
    const threshold = low.score + 10;
    expect((await h.call('PUT', '/v1/settings/churn', { threshold })).body).toEqual({ threshold });
    expect((await h.call('GET', '/v1/settings/churn')).body).toEqual({ threshold });
    const risks = async () => (await h.t.db.raw(
      `SELECT properties FROM events WHERE workspace_id = ? AND contact_id = ? AND type = 'churn.risk_high'`, [h.workspaceId, low.contact_id],
    )).rows.map((r: { properties: unknown }) => r.properties);
    expect(await risks()).toEqual([]);
    expect((await h.call('PATCH', `/v1/contacts/${low.contact_id}`, { properties: { nps: 2 } })).status).toBe(200);
    await h.call('POST', '/v1/scores/recompute', {});
    expect(await risks()).toEqual([{ score: low.score + 15, threshold }]);
    expect((await h.call('PUT', '/v1/settings/churn', { threshold: 70 })).status).toBe(200);
    expect((await h.call('PATCH', `/v1/contacts/${low.contact_id}`, { properties: { nps: null } })).status).toBe(200);
    await h.call('POST', '/v1/scores/recompute', {});
  });

  it('churn.risk_high is recorded once per upward crossing of the threshold, and segments can read the scores', async () => {
    const crossings = async () => (await h.t.db.raw(
      `SELECT count(*)::int AS n FROM events WHERE workspace_id = ? AND type = 'churn.risk_high' AND (properties->>'threshold')::int = 70`, [h.workspaceId],
    )).rows[0].n as number;
    const high = (await h.t.db.raw(`SELECT count(*)::int AS n FROM contact_churn WHERE workspace_id = ? AND score >= 70`, [h.workspaceId])).rows[0].n;
    expect(high).toBeGreaterThan(0);
    expect(await crossings()).toBe(high);
    await h.call('POST', '/v1/scores/recompute', {});
    expect(await crossings()).toBe(high);
    const seg = await h.call('POST', '/v1/segments', {
      key: 'at-risk-customers', name: 'At risk',
      rule: { any: [
        { fact: 'contact', path: '$.churn_risk', operator: 'greaterThanInclusive', value: 70 },
        { fact: 'contact', path: '$.rfm.group', operator: 'equal', value: 'cant_lose_them' },
      ] },
    });
    expect(seg.status).toBe(201);
    const ready = await segmentReady(h, 'at-risk-customers');
    const expected = (await h.t.db.raw(
      `SELECT count(*)::int AS n FROM contact_churn ch LEFT JOIN contact_rfm x ON x.workspace_id = ch.workspace_id AND x.contact_id = ch.contact_id
        WHERE ch.workspace_id = ? AND (ch.score >= 70 OR x.rfm_group = 'cant_lose_them')`, [h.workspaceId],
    )).rows[0].n;
    expect(ready.member_count).toBe(expected);
  });
});
