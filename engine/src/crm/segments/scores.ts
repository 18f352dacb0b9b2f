import type { Db, Tx } from '../../db/index.ts';
import { withTx } from '../../db/index.ts';
import type { OnEventsIngested } from '../event-hooks.ts';
import { ingestEvents } from '../events.ts';
import { ALL_TYPES, trackActivityTypes } from './activity.ts';

/** The purchase event RFM and churn risk read (its `properties.amount` is the monetary value). */
export const PURCHASE_EVENT = 'order.completed';
export const DEFAULT_CHURN_THRESHOLD = 70;
/** Events that are not engagement: transitions and scores Cairn records itself. */
const SYSTEM_EVENTS = ['segment.entered', 'segment.exited', 'churn.risk_high'];
const DAY_MS = 86_400_000;
/** Customers per churn statement, and churn.risk_high events per ingestion call. */
const CHURN_CHUNK = 10_000;
const EVENT_CHUNK = 1000;

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
 * strictly lower value) / customers⌋, so equal values share a score (NTILE would split ties arbitrarily).
 * Recency is the last purchase time (later is better), frequency the purchase count, monetary the sum of `amount`.
 * Window shoppers (engaged, never bought) get a row without scores. Only rows whose scores or group change are
 * written; with `changed`, their contact ids are returned (segments reading `$.rfm` re-evaluate those only).
 */
export async function computeRfm(tx: Tx, workspaceId: string, now: Date, opts: { changed?: boolean } = {}): Promise<{ customers: number; windowShoppers: number; changed: string[] }> {
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
         WHERE (x.r, x.f, x.m, x.rfm_group) IS DISTINCT FROM (EXCLUDED.r, EXCLUDED.f, EXCLUDED.m, EXCLUDED.rfm_group)
       RETURNING contact_id
     ), w AS (
       SELECT DISTINCT a.contact_id FROM contact_activity a
        WHERE a.workspace_id = ? AND a.event_type <> ? AND a.event_type <> ALL(?::text[])
          AND NOT EXISTS (SELECT 1 FROM c WHERE c.contact_id = a.contact_id)
     ), shoppers AS (
       INSERT INTO contact_rfm AS x (workspace_id, contact_id, r, f, m, rfm_group, computed_at)
       SELECT ?::uuid, contact_id, NULL::smallint, NULL::smallint, NULL::smallint, 'window_shoppers', ?::timestamptz FROM w ORDER BY contact_id
       ON CONFLICT (workspace_id, contact_id) DO UPDATE SET r = NULL, f = NULL, m = NULL, rfm_group = 'window_shoppers', computed_at = EXCLUDED.computed_at
         WHERE x.rfm_group <> 'window_shoppers'
       RETURNING contact_id
     ), changed AS (SELECT contact_id FROM customers UNION ALL SELECT contact_id FROM shoppers)
     SELECT n.n::int AS customers, (SELECT count(*) FROM w)::int AS shoppers,
            CASE WHEN ?::boolean THEN (SELECT array_agg(contact_id) FROM changed) END AS changed
       FROM n`,
    [workspaceId, PURCHASE_EVENT, workspaceId, now, workspaceId, PURCHASE_EVENT, SYSTEM_EVENTS, workspaceId, now, opts.changed === true],
  );
  const r = rows[0] as { customers: number; shoppers: number; changed: string[] | null };
  return { customers: r.customers, windowShoppers: r.shoppers, changed: r.changed ?? [] };
}

interface ChunkRow {
  id: string;
  count: number;
  first_at: Date;
  last_at: Date;
  nps: unknown;
  open_tickets: unknown;
  previous_score: number | null;
}

/**
 * Churn risk for the next `CHURN_CHUNK` customers after `after`, set-based: one statement reads their all-time
 * purchase row, one aggregates their day rows over the last 180 days (an index range over the chunk), the factors
 * are computed by `churnRisk`, and one statement upserts the rows whose score or factors changed.
 * `churn.risk_high` is recorded in the same transaction when a score crosses the threshold upwards (never again
 * while it stays above). Returns the last contact id of the chunk (null at the end) and the changed contacts.
 */
async function churnChunk(
  tx: Tx, workspaceId: string, after: string, now: Date, threshold: number, hooks: { onEventsIngested?: OnEventsIngested },
): Promise<{ last: string | null; changed: string[] }> {
  const day = (d: number) => new Date(now.getTime() - d * DAY_MS).toISOString().slice(0, 10);
  const base = (await tx.raw(
    `SELECT a.contact_id AS id, a.count, a.first_at, a.last_at, k.properties->'nps' AS nps, k.properties->'open_tickets' AS open_tickets,
            ch.score AS previous_score
       FROM contact_activity a
       JOIN contacts k ON k.workspace_id = a.workspace_id AND k.id = a.contact_id AND k.erased_at IS NULL
       LEFT JOIN contact_churn ch ON ch.workspace_id = a.workspace_id AND ch.contact_id = a.contact_id
      WHERE a.workspace_id = ? AND a.event_type = ? AND a.contact_id > ?
      ORDER BY a.contact_id LIMIT ?`,
    [workspaceId, PURCHASE_EVENT, after, CHURN_CHUNK],
  )).rows as ChunkRow[];
  if (base.length === 0) return { last: null, changed: [] };
  const last = base[base.length - 1]!.id;
  const { rows: agg } = await tx.raw(
    `SELECT contact_id,
            coalesce(sum(count) FILTER (WHERE event_type = ? AND day > ?::date), 0)::int AS p_recent,
            coalesce(sum(count) FILTER (WHERE event_type = ? AND day > ?::date AND day <= ?::date), 0)::int AS p_previous,
            coalesce(sum(count) FILTER (WHERE event_type <> ? AND event_type <> ALL(?::text[]) AND day > ?::date), 0)::int AS e_recent,
            coalesce(sum(count) FILTER (WHERE event_type <> ? AND event_type <> ALL(?::text[]) AND day > ?::date AND day <= ?::date), 0)::int AS e_previous
       FROM contact_activity_days
      WHERE workspace_id = ? AND contact_id > ? AND contact_id <= ? AND day > ?::date
      GROUP BY contact_id`,
    [
      PURCHASE_EVENT, day(90), PURCHASE_EVENT, day(180), day(90),
      PURCHASE_EVENT, SYSTEM_EVENTS, day(30), PURCHASE_EVENT, SYSTEM_EVENTS, day(60), day(30),
      workspaceId, after, last, day(180),
    ],
  );
  const windows = new Map((agg as { contact_id: string; p_recent: number; p_previous: number; e_recent: number; e_previous: number }[]).map((r) => [r.contact_id, r]));
  const scored = base.map((r) => {
    const w = windows.get(r.id);
    return {
      id: r.id,
      previous: r.previous_score,
      ...churnRisk({
        now, purchases: { count: r.count, firstAt: r.first_at, lastAt: r.last_at },
        purchasesRecent: w?.p_recent ?? 0, purchasesPrevious: w?.p_previous ?? 0, engagementRecent: w?.e_recent ?? 0, engagementPrevious: w?.e_previous ?? 0,
        properties: { nps: r.nps, open_tickets: r.open_tickets },
      }),
    };
  });
  const { rows: written } = await tx.raw(
    `INSERT INTO contact_churn AS ch (workspace_id, contact_id, score, factors, computed_at)
     SELECT ?, c, s, f, ? FROM unnest(?::uuid[], ?::int[], ?::jsonb[]) AS u(c, s, f)
     ON CONFLICT (workspace_id, contact_id) DO UPDATE SET score = EXCLUDED.score, factors = EXCLUDED.factors, computed_at = EXCLUDED.computed_at
       WHERE (ch.score, ch.factors) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.factors)
     RETURNING contact_id`,
    [workspaceId, now, scored.map((s) => s.id), scored.map((s) => s.score), scored.map((s) => JSON.stringify(s.factors))],
  );
  const crossed = scored.filter((s) => s.score >= threshold && (s.previous ?? 0) < threshold);
  for (let i = 0; i < crossed.length; i += EVENT_CHUNK) {
    await ingestEvents(tx, workspaceId, crossed.slice(i, i + EVENT_CHUNK).map((s) => ({
      type: 'churn.risk_high', contact: {}, contactId: s.id, properties: { score: s.score, threshold }, source: 'churn',
    })), hooks, { now });
  }
  return { last: base.length === CHURN_CHUNK ? last : null, changed: (written as { contact_id: string }[]).map((r) => r.contact_id) };
}

/** Serialises score writes per workspace (an hourly recompute and a manual one never both see the old score). */
const lockScores = (tx: Tx, workspaceId: string) => tx.raw(`SELECT pg_advisory_xact_lock(hashtext('cairn.scores'), hashtext(?))`, [workspaceId]);

/**
 * Sets the workspace's `churn.risk_high` threshold (0–100). It applies from the next recompute: a score that rises
 * from below to at or above it records the event; contacts already above it record none.
 */
export async function setChurnThreshold(tx: Tx, workspaceId: string, threshold: number): Promise<{ threshold: number }> {
  await tx.raw(
    `UPDATE workspaces SET settings = jsonb_set(coalesce(settings, '{}'::jsonb), '{churn}',
       coalesce(settings->'churn', '{}'::jsonb) || jsonb_build_object('threshold', ?::int)) WHERE id = ?`,
    [threshold, workspaceId],
  );
  return { threshold };
}

/** The workspace's `churn.risk_high` threshold (`settings.churn.threshold`, default 70). */
export async function churnThreshold(q: Db | Tx, workspaceId: string): Promise<number> {
  const ws = (await q('workspaces').where({ id: workspaceId }).first<{ settings: Record<string, unknown> } | undefined>('settings'))?.settings ?? {};
  const configured = (ws.churn as { threshold?: unknown } | undefined)?.threshold;
  return typeof configured === 'number' ? configured : DEFAULT_CHURN_THRESHOLD;
}

/**
 * Recomputes RFM (one statement over the workspace) and then churn risk (set-based, chunk by chunk of
 * customers). `refresh`, when given, re-evaluates the segments of the contacts whose scores changed (the
 * maintainer passes it only when a segment reads `$.rfm` or `$.churn_risk`).
 */
export async function recomputeScores(
  db: Db, workspaceId: string, now: Date,
  deps: { hooks: { onEventsIngested?: OnEventsIngested }; refresh?: (ids: string[]) => Promise<void> },
): Promise<{ customers: number; window_shoppers: number }> {
  const changed = new Set<string>();
  const rfm = await withTx(db, async (tx) => {
    await lockScores(tx, workspaceId);
    // Churn risk counts engagement over every event type: from the first computation on, all types are kept.
    await trackActivityTypes(tx, workspaceId, [ALL_TYPES]);
    const r = await computeRfm(tx, workspaceId, now, { changed: deps.refresh !== undefined });
    r.changed.forEach((id) => changed.add(id));
    await tx.raw(
      `INSERT INTO workspace_scores (workspace_id, computed_at) VALUES (?, ?) ON CONFLICT (workspace_id) DO UPDATE SET computed_at = EXCLUDED.computed_at`,
      [workspaceId, now],
    );
    return r;
  });
  const threshold = await churnThreshold(db, workspaceId);
  let after: string | null = '00000000-0000-0000-0000-000000000000';
  while (after !== null) {
    const from: string = after;
    after = await withTx(db, async (tx) => {
      await lockScores(tx, workspaceId);
      const chunk = await churnChunk(tx, workspaceId, from, now, threshold, deps.hooks);
      if (deps.refresh) chunk.changed.forEach((id) => changed.add(id));
      return chunk.last;
    });
  }
  if (deps.refresh && changed.size > 0) await deps.refresh([...changed].sort());
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
