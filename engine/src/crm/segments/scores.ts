import type { Db, Tx } from '../../db/index.ts';
import { withTx } from '../../db/index.ts';
import type { OnEventsIngested } from '../event-hooks.ts';
import { ingestEvents } from '../events.ts';

/** The purchase event RFM and churn risk read (its `properties.amount` is the monetary value). */
export const PURCHASE_EVENT = 'order.completed';
export const DEFAULT_CHURN_THRESHOLD = 70;
/** Events that are not engagement: transitions and scores Cairn records itself. */
const SYSTEM_EVENTS = ['segment.entered', 'segment.exited', 'churn.risk_high'];
const DAY_MS = 86_400_000;
const CHUNK = 1000;

export interface ChurnFactor {
  factor: 'recency' | 'frequency_trend' | 'engagement_decline' | 'nps_detractor' | 'open_support_issues';
  /** The measured value the points come from (ratio, share of decline, NPS, open issues). */
  value: number | null;
  points: number;
  max: number;
}

export interface ChurnInput {
  now: Date;
  purchases: { count: number; firstAt: Date; lastAt: Date };
  /** Purchases in the last 90 days and in the 90 days before. */
  purchasesRecent: number;
  purchasesPrevious: number;
  /** Engagement events (any but purchases and Cairn's own) in the last 30 days and in the 30 days before. */
  engagementRecent: number;
  engagementPrevious: number;
  properties: Record<string, unknown>;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Churn risk 0–100: the sum of five documented factors (docs/segments.md), each stored with its points.
 * A one-time buyer's "own interval" is taken as 30 days.
 */
export function churnRisk(input: ChurnInput): { score: number; factors: ChurnFactor[] } {
  const { purchases: p } = input;
  const daysSince = (input.now.getTime() - p.lastAt.getTime()) / DAY_MS;
  const interval = p.count > 1 ? (p.lastAt.getTime() - p.firstAt.getTime()) / DAY_MS / (p.count - 1) : 30;
  const ratio = daysSince / Math.max(interval, 1);
  const trend = input.purchasesPrevious > 0 ? clamp01((input.purchasesPrevious - input.purchasesRecent) / input.purchasesPrevious) : 0;
  const decline = input.engagementPrevious > 0 ? clamp01((input.engagementPrevious - input.engagementRecent) / input.engagementPrevious) : 0;
  const nps = typeof input.properties.nps === 'number' ? input.properties.nps : null;
  const open = typeof input.properties.open_tickets === 'number' && input.properties.open_tickets > 0 ? input.properties.open_tickets : 0;
  const factors: ChurnFactor[] = [
    { factor: 'recency', value: round1(ratio), points: round1(40 * clamp01((ratio - 1) / 2)), max: 40 },
    { factor: 'frequency_trend', value: round1(trend), points: round1(20 * trend), max: 20 },
    { factor: 'engagement_decline', value: round1(decline), points: round1(15 * decline), max: 15 },
    { factor: 'nps_detractor', value: nps, points: nps !== null && nps <= 6 ? 15 : 0, max: 15 },
    { factor: 'open_support_issues', value: open, points: Math.min(10, 5 * open), max: 10 },
  ];
  const score = Math.min(100, Math.round(factors.reduce((s, f) => s + f.points, 0)));
  return { score, factors };
}

/**
 * RFM by quintile over the workspace's customers, in one statement: each score is 1 + ⌊5 × (customers with a
 * strictly lower value) / customers⌋, so equal values share a score. Recency is the last purchase time (later is
 * better), frequency the purchase count, monetary the sum of `amount`. Window shoppers (engaged, never bought)
 * get a row without scores. Rows of contacts that are neither are removed.
 */
export async function computeRfm(tx: Tx, workspaceId: string, now: Date): Promise<{ customers: number; windowShoppers: number }> {
  const { rows } = await tx.raw(
    `WITH c AS (
       SELECT contact_id, last_at, count, sum FROM contact_activity WHERE workspace_id = ? AND event_type = ?
     ), n AS (SELECT count(*)::float8 AS n FROM c),
     s AS (
       SELECT contact_id, count,
              1 + floor(5 * (rank() OVER (ORDER BY last_at) - 1) / n.n)::int AS r,
              1 + floor(5 * (rank() OVER (ORDER BY count) - 1) / n.n)::int AS f,
              1 + floor(5 * (rank() OVER (ORDER BY sum) - 1) / n.n)::int AS m
         FROM c, n
     ), customers AS (
       INSERT INTO contact_rfm AS x (workspace_id, contact_id, r, f, m, rfm_group, computed_at)
       SELECT ?, contact_id, r, f, m,
              CASE WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
                   WHEN r <= 2 AND f >= 4 AND m >= 4 THEN 'cant_lose_them'
                   WHEN r >= 3 AND f >= 4 THEN 'loyal'
                   WHEN r <= 2 AND f >= 3 THEN 'at_risk'
                   WHEN count = 1 AND r = 5 THEN 'new'
                   WHEN count = 1 THEN 'one_time_shoppers'
                   WHEN r >= 4 THEN 'potential_loyalists'
                   WHEN r >= 2 THEN 'hibernating'
                   ELSE 'lost' END,
              ?
         FROM s ORDER BY contact_id
       ON CONFLICT (workspace_id, contact_id) DO UPDATE SET r = EXCLUDED.r, f = EXCLUDED.f, m = EXCLUDED.m,
         rfm_group = EXCLUDED.rfm_group, computed_at = EXCLUDED.computed_at
       RETURNING 1
     ), shoppers AS (
       INSERT INTO contact_rfm AS x (workspace_id, contact_id, r, f, m, rfm_group, computed_at)
       SELECT DISTINCT ?::uuid, a.contact_id, NULL::smallint, NULL::smallint, NULL::smallint, 'window_shoppers', ?::timestamptz
         FROM contact_activity a
        WHERE a.workspace_id = ? AND a.event_type <> ? AND a.event_type <> ALL(?::text[])
          AND NOT EXISTS (SELECT 1 FROM c WHERE c.contact_id = a.contact_id)
       ON CONFLICT (workspace_id, contact_id) DO UPDATE SET r = NULL, f = NULL, m = NULL, rfm_group = 'window_shoppers', computed_at = EXCLUDED.computed_at
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM customers)::int AS customers, (SELECT count(*) FROM shoppers)::int AS shoppers`,
    [workspaceId, PURCHASE_EVENT, workspaceId, now, workspaceId, now, workspaceId, PURCHASE_EVENT, SYSTEM_EVENTS],
  );
  await tx.raw(`DELETE FROM contact_rfm WHERE workspace_id = ? AND computed_at < ?`, [workspaceId, now]);
  const r = rows[0] as { customers: number; shoppers: number };
  return { customers: r.customers, windowShoppers: r.shoppers };
}

interface ChunkRow {
  id: string;
  properties: Record<string, unknown>;
  count: number;
  first_at: Date;
  last_at: Date;
  p_recent: number;
  p_previous: number;
  e_recent: number;
  e_previous: number;
  previous_score: number | null;
}

/**
 * Churn risk for one chunk of customers (their rows locked, as ingestion locks them), with `churn.risk_high`
 * recorded when a score crosses the threshold upwards (never again while it stays above).
 */
async function churnChunk(tx: Tx, workspaceId: string, ids: string[], now: Date, threshold: number, hooks: { onEventsIngested?: OnEventsIngested }): Promise<void> {
  const day = (d: number) => new Date(now.getTime() - d * DAY_MS).toISOString().slice(0, 10);
  const { rows } = await tx.raw(
    `SELECT k.id, k.properties, a.count, a.first_at, a.last_at, ch.score AS previous_score,
            coalesce((SELECT sum(d.count) FROM contact_activity_days d WHERE d.workspace_id = k.workspace_id AND d.contact_id = k.id
                        AND d.event_type = ? AND d.day > ?::date), 0)::int AS p_recent,
            coalesce((SELECT sum(d.count) FROM contact_activity_days d WHERE d.workspace_id = k.workspace_id AND d.contact_id = k.id
                        AND d.event_type = ? AND d.day > ?::date AND d.day <= ?::date), 0)::int AS p_previous,
            coalesce((SELECT sum(d.count) FROM contact_activity_days d WHERE d.workspace_id = k.workspace_id AND d.contact_id = k.id
                        AND d.event_type <> ? AND d.event_type <> ALL(?::text[]) AND d.day > ?::date), 0)::int AS e_recent,
            coalesce((SELECT sum(d.count) FROM contact_activity_days d WHERE d.workspace_id = k.workspace_id AND d.contact_id = k.id
                        AND d.event_type <> ? AND d.event_type <> ALL(?::text[]) AND d.day > ?::date AND d.day <= ?::date), 0)::int AS e_previous
       FROM contacts k
       JOIN contact_activity a ON a.workspace_id = k.workspace_id AND a.contact_id = k.id AND a.event_type = ?
       LEFT JOIN contact_churn ch ON ch.workspace_id = k.workspace_id AND ch.contact_id = k.id
      WHERE k.workspace_id = ? AND k.id = ANY(?::uuid[]) AND k.erased_at IS NULL`,
    [
      PURCHASE_EVENT, day(90), PURCHASE_EVENT, day(180), day(90),
      PURCHASE_EVENT, SYSTEM_EVENTS, day(30), PURCHASE_EVENT, SYSTEM_EVENTS, day(60), day(30),
      PURCHASE_EVENT, workspaceId, ids,
    ],
  );
  const scored = (rows as ChunkRow[]).map((r) => ({
    id: r.id,
    previous: r.previous_score,
    ...churnRisk({
      now, purchases: { count: r.count, firstAt: r.first_at, lastAt: r.last_at }, purchasesRecent: r.p_recent, purchasesPrevious: r.p_previous,
      engagementRecent: r.e_recent, engagementPrevious: r.e_previous, properties: r.properties,
    }),
  }));
  if (scored.length === 0) return;
  await tx.raw(
    `INSERT INTO contact_churn (workspace_id, contact_id, score, factors, computed_at)
     SELECT ?, c, s, f, ? FROM unnest(?::uuid[], ?::int[], ?::jsonb[]) AS u(c, s, f)
     ON CONFLICT (workspace_id, contact_id) DO UPDATE SET score = EXCLUDED.score, factors = EXCLUDED.factors, computed_at = EXCLUDED.computed_at`,
    [workspaceId, now, scored.map((s) => s.id), scored.map((s) => s.score), scored.map((s) => JSON.stringify(s.factors))],
  );
  const crossed = scored.filter((s) => s.score >= threshold && (s.previous ?? 0) < threshold);
  if (crossed.length > 0) {
    await ingestEvents(tx, workspaceId, crossed.map((s) => ({
      type: 'churn.risk_high', contact: {}, contactId: s.id, properties: { score: s.score, threshold }, source: 'churn',
    })), hooks, { now });
  }
}

/**
 * Recomputes RFM (one statement) and then churn risk chunk by chunk; `afterChunk` lets segments that read the
 * scores re-evaluate those contacts in the same transaction.
 */
export async function recomputeScores(
  db: Db, workspaceId: string, now: Date,
  deps: { hooks: { onEventsIngested?: OnEventsIngested }; afterChunk?: (tx: Tx, workspaceId: string, ids: string[], now: Date) => Promise<void> },
): Promise<{ customers: number; window_shoppers: number }> {
  const rfm = await withTx(db, async (tx) => {
    const r = await computeRfm(tx, workspaceId, now);
    await tx.raw(
      `INSERT INTO workspace_scores (workspace_id, computed_at) VALUES (?, ?) ON CONFLICT (workspace_id) DO UPDATE SET computed_at = EXCLUDED.computed_at`,
      [workspaceId, now],
    );
    return r;
  });
  const ws = (await db('workspaces').where({ id: workspaceId }).first<{ settings: Record<string, unknown> } | undefined>('settings'))?.settings ?? {};
  const configured = (ws.churn as { threshold?: unknown } | undefined)?.threshold;
  const threshold = typeof configured === 'number' ? configured : DEFAULT_CHURN_THRESHOLD;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const last = await withTx(db, async (tx) => {
      const { rows } = await tx.raw(
        `SELECT k.id FROM contact_rfm x JOIN contacts k ON k.workspace_id = x.workspace_id AND k.id = x.contact_id
          WHERE x.workspace_id = ? AND x.contact_id > ? ORDER BY k.id LIMIT ? FOR UPDATE OF k`,
        [workspaceId, after, CHUNK],
      );
      const ids = (rows as { id: string }[]).map((r) => r.id);
      if (ids.length === 0) return null;
      await churnChunk(tx, workspaceId, ids, now, threshold, deps.hooks);
      if (deps.afterChunk) await deps.afterChunk(tx, workspaceId, ids, now);
      return ids.length === CHUNK ? ids[ids.length - 1]! : null;
    });
    if (last === null) break;
    after = last;
  }
  return { customers: rfm.customers, window_shoppers: rfm.windowShoppers };
}

/** Workspaces whose scores are older than an hour (they opted in by computing once). */
export async function staleScoreWorkspaces(db: Db, now: Date): Promise<string[]> {
  const { rows } = await db.raw(`SELECT workspace_id FROM workspace_scores WHERE computed_at <= ? ORDER BY computed_at LIMIT 10`, [new Date(now.getTime() - 3_600_000)]);
  return (rows as { workspace_id: string }[]).map((r) => r.workspace_id);
}

/** The scores shown on a contact and read by segment rules as `contact.rfm` and `contact.churn_risk`. */
export async function loadScores(q: Db | Tx, workspaceId: string, contactIds: string[]): Promise<Map<string, { rfm: Record<string, unknown> | null; churn: { score: number; factors: ChurnFactor[] } | null }>> {
  const out = new Map<string, { rfm: Record<string, unknown> | null; churn: { score: number; factors: ChurnFactor[] } | null }>();
  if (contactIds.length === 0) return out;
  const { rows } = await q.raw(
    `SELECT id, x.r, x.f, x.m, x.rfm_group, ch.score, ch.factors FROM unnest(?::uuid[]) AS id
       LEFT JOIN contact_rfm x ON x.workspace_id = ? AND x.contact_id = id
       LEFT JOIN contact_churn ch ON ch.workspace_id = ? AND ch.contact_id = id`,
    [contactIds, workspaceId, workspaceId],
  );
  for (const r of rows as { id: string; r: number | null; f: number | null; m: number | null; rfm_group: string | null; score: number | null; factors: ChurnFactor[] | null }[]) {
    out.set(r.id, {
      rfm: r.rfm_group === null ? null : { r: r.r, f: r.f, m: r.m, group: r.rfm_group },
      churn: r.score === null ? null : { score: r.score, factors: r.factors ?? [] },
    });
  }
  return out;
}

/** Erasure: the contact's scores go with it. */
export async function eraseScores(tx: Tx, workspaceId: string, contactId: string): Promise<void> {
  await tx.raw(`DELETE FROM contact_rfm WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  await tx.raw(`DELETE FROM contact_churn WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
}
