import type { Db, Tx } from '../../db/index.ts';
import { withTx } from '../../db/index.ts';
import type { OnEventsIngested } from '../event-hooks.ts';
import { ingestEvents } from '../events.ts';
import { ALL_TYPES, trackActivityTypes, utcDay } from './activity.ts';

/** The purchase event RFM and churn risk read (its `properties.amount` is the monetary value). */
export const PURCHASE_EVENT = 'order.completed';
export const DEFAULT_CHURN_THRESHOLD = 70;
/** Events that are not engagement: transitions and scores Cairn records itself. */
const SYSTEM_EVENTS = ['segment.entered', 'segment.exited', 'churn.risk_high'];
const DAY_MS = 86_400_000;
/** churn.risk_high events per ingestion call. */
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

/** The measured values of the five factors, as stored per customer (contact_churn's columns). */
export interface ChurnValues {
  recency_ratio: number;
  frequency_trend: number;
  engagement_decline: number;
  nps: number | null;
  open_tickets: number;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
// Half up, as `floor(x + 0.5)` in the SQL of `churnStatement` (the values are never negative): both give the same bits.
const round0 = (x: number) => Math.floor(x + 0.5);
const round1 = (x: number) => round0(x * 10) / 10;

/**
 * The factors' measured values: recency against the contact's own purchase interval (30 days for a one-time buyer),
 * the decline of purchases and of engagement, the NPS and the open support issues. The same arithmetic, in the same
 * order, as the SQL of `churnStatement` (the test compares them).
 */
export function churnValues(input: ChurnInput): ChurnValues {
  const { purchases: p } = input;
  const daysSince = (input.now.getTime() - p.lastAt.getTime()) / DAY_MS;
  const interval = p.count > 1 ? (p.lastAt.getTime() - p.firstAt.getTime()) / DAY_MS / (p.count - 1) : 30;
  const nps = input.properties.nps;
  const open = input.properties.open_tickets;
  return {
    recency_ratio: daysSince / Math.max(interval, 1),
    frequency_trend: input.purchasesPrevious > 0 ? clamp01((input.purchasesPrevious - input.purchasesRecent) / input.purchasesPrevious) : 0,
    engagement_decline: input.engagementPrevious > 0 ? clamp01((input.engagementPrevious - input.engagementRecent) / input.engagementPrevious) : 0,
    nps: typeof nps === 'number' ? nps : null,
    open_tickets: typeof open === 'number' && open > 0 ? open : 0,
  };
}

/**
 * Churn risk 0–100 from the factors' values: the sum of five documented factors (docs/segments.md), each listed
 * with its points. Stored scores are computed by SQL with the same formula; the listed factors come from here.
 */
export function churnFactors(v: ChurnValues): { score: number; factors: ChurnFactor[] } {
  const factors: ChurnFactor[] = [
    { factor: 'recency', value: round1(v.recency_ratio), points: round1(40 * clamp01((v.recency_ratio - 1) / 2)), max: 40 },
    { factor: 'frequency_trend', value: round1(v.frequency_trend), points: round1(20 * v.frequency_trend), max: 20 },
    { factor: 'engagement_decline', value: round1(v.engagement_decline), points: round1(15 * v.engagement_decline), max: 15 },
    { factor: 'nps_detractor', value: v.nps, points: v.nps !== null && v.nps <= 6 ? 15 : 0, max: 15 },
    { factor: 'open_support_issues', value: v.open_tickets, points: Math.min(10, 5 * v.open_tickets), max: 10 },
  ];
  const score = Math.min(100, round0(factors.reduce((s, f) => s + f.points, 0)));
  return { score, factors };
}

/** Churn risk of one customer (the reference the set-based SQL is tested against). */
export function churnRisk(input: ChurnInput): { score: number; factors: ChurnFactor[] } {
  return churnFactors(churnValues(input));
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

/** Half up to one decimal in SQL, as `round1` (a float8 expression in, float8 out). */
const sqlRound1 = (x: string) => `floor((${x}) * 10 + 0.5) / 10`;

/**
 * Churn risk over the workspace's customers in one statement: their purchase row, their day rows of the last 180
 * days aggregated once per contact, the factors' values and the score computed in SQL with `churnFactors`'
 * arithmetic, and one upsert of the rows whose values changed (an unchanged customer is not written). Returns the
 * customers whose score crossed the threshold upwards (score before this recompute below it, or none) and, with
 * `changed`, those whose score moved (segments reading `$.churn_risk` re-evaluate those only).
 */
async function computeChurn(
  tx: Tx, workspaceId: string, now: Date, threshold: number, opts: { changed?: boolean },
): Promise<{ crossed: { id: string; score: number }[]; changed: string[] }> {
  const day = (d: number) => utcDay(new Date(now.getTime() - d * DAY_MS));
  const clamp = (x: string) => `least(1, greatest(0, ${x}))`;
  const { rows } = await tx.raw(
    `WITH base AS (
       SELECT a.contact_id, a.count::float8 AS n,
              floor(extract(epoch FROM a.first_at) * 1000)::float8 AS first_ms, floor(extract(epoch FROM a.last_at) * 1000)::float8 AS last_ms,
              CASE WHEN jsonb_typeof(k.properties->'nps') = 'number' THEN (k.properties->>'nps')::float8 END AS nps,
              CASE WHEN jsonb_typeof(k.properties->'open_tickets') = 'number' THEN greatest((k.properties->>'open_tickets')::float8, 0) ELSE 0 END AS open_tickets
         FROM contact_activity a
         JOIN contacts k ON k.workspace_id = a.workspace_id AND k.id = a.contact_id AND k.erased_at IS NULL
        WHERE a.workspace_id = ? AND a.event_type = ?
     ), win AS (
       SELECT contact_id,
              coalesce(sum(count) FILTER (WHERE event_type = ? AND day > ?::date), 0)::float8 AS p_recent,
              coalesce(sum(count) FILTER (WHERE event_type = ? AND day <= ?::date), 0)::float8 AS p_previous,
              coalesce(sum(count) FILTER (WHERE event_type <> ? AND event_type <> ALL(?::text[]) AND day > ?::date), 0)::float8 AS e_recent,
              coalesce(sum(count) FILTER (WHERE event_type <> ? AND event_type <> ALL(?::text[]) AND day > ?::date AND day <= ?::date), 0)::float8 AS e_previous
         FROM contact_activity_days
        -- Purchases over 180 days, engagement over 60: only the rows a factor reads reach the aggregate.
        WHERE workspace_id = ? AND day > ?::date AND (event_type = ? OR day > ?::date)
        GROUP BY contact_id
     ), v AS (
       SELECT b.contact_id, b.nps, b.open_tickets,
              ((?::float8 - b.last_ms) / ${DAY_MS}) / greatest(CASE WHEN b.n > 1 THEN ((b.last_ms - b.first_ms) / ${DAY_MS}) / (b.n - 1) ELSE 30 END, 1) AS recency_ratio,
              CASE WHEN w.p_previous > 0 THEN ${clamp('(w.p_previous - w.p_recent) / w.p_previous')} ELSE 0 END AS frequency_trend,
              CASE WHEN w.e_previous > 0 THEN ${clamp('(w.e_previous - w.e_recent) / w.e_previous')} ELSE 0 END AS engagement_decline
         FROM base b LEFT JOIN win w ON w.contact_id = b.contact_id
     ), s AS (
       SELECT v.*, least(100, floor(
                ${sqlRound1(`40 * ${clamp('(v.recency_ratio - 1) / 2')}`)} + ${sqlRound1('20 * v.frequency_trend')} + ${sqlRound1('15 * v.engagement_decline')}
                + CASE WHEN v.nps <= 6 THEN 15 ELSE 0 END + least(10, 5 * v.open_tickets) + 0.5))::smallint AS score,
              ch.score AS previous,
              ch.contact_id IS NULL OR (ch.recency_ratio, ch.frequency_trend, ch.engagement_decline, ch.nps, ch.open_tickets)
                IS DISTINCT FROM (v.recency_ratio, v.frequency_trend, v.engagement_decline, v.nps, v.open_tickets) AS differs
         FROM v LEFT JOIN contact_churn ch ON ch.workspace_id = ? AND ch.contact_id = v.contact_id
     ), written AS (
       INSERT INTO contact_churn AS ch (workspace_id, contact_id, score, recency_ratio, frequency_trend, engagement_decline, nps, open_tickets, computed_at)
       SELECT ?, contact_id, score, recency_ratio, frequency_trend, engagement_decline, nps, open_tickets, ? FROM s WHERE differs ORDER BY contact_id
       ON CONFLICT (workspace_id, contact_id) DO UPDATE SET score = EXCLUDED.score, recency_ratio = EXCLUDED.recency_ratio,
         frequency_trend = EXCLUDED.frequency_trend, engagement_decline = EXCLUDED.engagement_decline, nps = EXCLUDED.nps,
         open_tickets = EXCLUDED.open_tickets, computed_at = EXCLUDED.computed_at
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM written)::int AS written,
            (SELECT coalesce(json_agg(json_build_object('id', contact_id, 'score', score) ORDER BY contact_id), '[]') FROM s
              WHERE score >= ? AND coalesce(previous, 0) < ?) AS crossed,
            CASE WHEN ?::boolean THEN (SELECT array_agg(contact_id) FROM s WHERE previous IS DISTINCT FROM score) END AS changed`,
    [
      workspaceId, PURCHASE_EVENT,
      PURCHASE_EVENT, day(90), PURCHASE_EVENT, day(90),
      PURCHASE_EVENT, SYSTEM_EVENTS, day(30), PURCHASE_EVENT, SYSTEM_EVENTS, day(60), day(30),
      workspaceId, day(180), PURCHASE_EVENT, day(60),
      now.getTime(),
      workspaceId,
      workspaceId, now,
      threshold, threshold, opts.changed === true,
    ],
  );
  const r = rows[0] as { crossed: { id: string; score: number }[]; changed: string[] | null };
  return { crossed: r.crossed, changed: r.changed ?? [] };
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
 * Recomputes RFM and churn risk in one transaction of a few set-based statements (no loop over customers): RFM,
 * then churn risk, then `churn.risk_high` for the upward crossings, through ingestion in the same transaction.
 * `refresh`, when given, re-evaluates the segments of the contacts whose RFM or churn score changed (the
 * maintainer passes it only when a segment reads `$.rfm` or `$.churn_risk`).
 */
export async function recomputeScores(
  db: Db, workspaceId: string, now: Date,
  deps: { hooks: { onEventsIngested?: OnEventsIngested }; refresh?: (ids: string[]) => Promise<void> },
): Promise<{ customers: number; window_shoppers: number }> {
  const changed = new Set<string>();
  const threshold = await churnThreshold(db, workspaceId);
  const rfm = await withTx(db, async (tx) => {
    changed.clear();
    await lockScores(tx, workspaceId);
    // The window sorts and the per-customer aggregate stay in memory (the default 4 MB spills them to disk).
    await tx.raw(`SET LOCAL work_mem = '64MB'`);
    // Churn risk counts engagement over every event type: from the first computation on, all types are kept.
    await trackActivityTypes(tx, workspaceId, [ALL_TYPES]);
    const r = await computeRfm(tx, workspaceId, now, { changed: deps.refresh !== undefined });
    const churn = await computeChurn(tx, workspaceId, now, threshold, { changed: deps.refresh !== undefined });
    for (const id of [...r.changed, ...churn.changed]) changed.add(id);
    for (let i = 0; i < churn.crossed.length; i += EVENT_CHUNK) {
      await ingestEvents(tx, workspaceId, churn.crossed.slice(i, i + EVENT_CHUNK).map((s) => ({
        type: 'churn.risk_high', contact: {}, contactId: s.id, properties: { score: s.score, threshold }, source: 'churn',
      })), deps.hooks, { now });
    }
    await tx.raw(
      `INSERT INTO workspace_scores (workspace_id, computed_at) VALUES (?, ?) ON CONFLICT (workspace_id) DO UPDATE SET computed_at = EXCLUDED.computed_at`,
      [workspaceId, now],
    );
    return r;
  });
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
    `SELECT id, x.r, x.f, x.m, x.rfm_group, ch.score, ch.recency_ratio, ch.frequency_trend, ch.engagement_decline, ch.nps, ch.open_tickets
       FROM unnest(?::uuid[]) AS id
       LEFT JOIN contact_rfm x ON x.workspace_id = ? AND x.contact_id = id
       LEFT JOIN contact_churn ch ON ch.workspace_id = ? AND ch.contact_id = id`,
    [contactIds, workspaceId, workspaceId],
  );
  for (const r of rows as ({ id: string; r: number | null; f: number | null; m: number | null; rfm_group: string | null; score: number | null } & ChurnValues)[]) {
    out.set(r.id, {
      rfm: r.rfm_group === null ? null : { r: r.r, f: r.f, m: r.m, group: r.rfm_group },
      // The stored score, with the factors it was computed from (churnFactors gives the same sum).
      churn: r.score === null ? null : { score: r.score, factors: churnFactors(r).factors },
    });
  }
  return out;
}

/** Erasure: the contact's scores go with it. */
export async function eraseScores(tx: Tx, workspaceId: string, contactId: string): Promise<void> {
  await tx.raw(`DELETE FROM contact_rfm WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  await tx.raw(`DELETE FROM contact_churn WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
}
