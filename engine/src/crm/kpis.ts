import type { Db } from '../db/index.ts';

/**
 * KPIs over a period [from, to): conversion per flow (per version, per split branch, holdout and lift), churn,
 * NPS, CSAT, CLV, CAC, a time series and monthly cohort retention. Every definition is in docs/kpis.md; the
 * acceptance test (engine/test/kpis/) recomputes each figure with its own SQL over the raw events and runs.
 */
export interface KpiQuery {
  from: Date;
  to: Date;
  interval: 'day' | 'week' | 'month';
  flowId?: string;
  /** Segment id (already resolved from its key): contact figures count only its current members. */
  segmentId?: string;
  churnWindowDays: number;
}

export interface Rate { entered: number; converted: number | null; conversion_rate: number | null }
export interface Lift { absolute: number; ci_low: number; ci_high: number; confidence: 0.95; treated: Rate; holdout: Rate }
export interface FlowKpi extends Rate {
  flow_id: string;
  name: string;
  has_goal: boolean;
  holdout?: Rate;
  lift?: Lift | null;
  versions: (Rate & { version: number })[];
  splits: { node_id: string; holdout_pct: number; branches: (Rate & { key: string })[] }[];
}

/** Ninety-five percent two-sided normal quantile. */
const Z95 = 1.959963984540054;
/** CLV's projected lifetime is 1 / churn_rate periods, capped here (a period with no churn would project forever). */
export const CLV_MAX_PERIODS = 10;
/** The longest period one request may cover. */
export const MAX_RANGE_DAYS = 731;

/** Runs `r` of the workspace's flows (or of one), so the scan goes through runs_flow_started, not all runs. */
const RUNS_OF_FLOWS = (q: KpiQuery) =>
  `r.flow_id IN (SELECT id FROM flows WHERE workspace_id = ?${q.flowId ? ' AND id = ?' : ''}) AND r.workspace_id = ?`;

const ratio = (n: number, d: number): number | null => (d > 0 ? n / d : null);

/**
 * The UTC days whose runs were pruned into roll-ups (run_rollups, run_split_rollups) that a period counts: a pruned
 * run counts as started at midnight UTC of its day, so [from, to) takes the days whose midnight falls inside it
 * (exact for periods that start and end at UTC midnight). With a segment, none: roll-ups keep no contacts.
 */
function rolledDays(q: KpiQuery): [string, string] | null {
  if (q.segmentId) return null;
  return [utcDate(Math.ceil(q.from.getTime() / DAY_MS) * DAY_MS), utcDate(Math.ceil(q.to.getTime() / DAY_MS) * DAY_MS)];
}

interface FlowVersionDoc { flow_id: string; name: string; version: number; document: FlowDoc }
interface FlowDoc { settings?: { goal?: { event?: string; rule?: unknown } | null }; nodes?: { id: string; type: string; config?: Record<string, unknown> }[] }

/** Absolute lift treated − holdout with a Wald 95% interval for a difference of two proportions. */
export function liftOf(treated: { n: number; x: number }, holdout: { n: number; x: number }): Omit<Lift, 'treated' | 'holdout'> | null {
  if (treated.n === 0 || holdout.n === 0) return null;
  const p1 = treated.x / treated.n;
  const p0 = holdout.x / holdout.n;
  const se = Math.sqrt((p1 * (1 - p1)) / treated.n + (p0 * (1 - p0)) / holdout.n);
  const d = p1 - p0;
  return { absolute: d, ci_low: d - Z95 * se, ci_high: d + Z95 * se, confidence: 0.95 };
}

/** The contacts a figure counts: every contact of the workspace, or a segment's current members. */
function contactFilter(alias: string, q: KpiQuery): { sql: string; bindings: string[] } {
  if (!q.segmentId) return { sql: '', bindings: [] };
  return {
    sql: ` AND EXISTS (SELECT 1 FROM segment_members m WHERE m.workspace_id = ${alias}.workspace_id AND m.segment_id = ? AND m.contact_id = ${alias}.contact_id)`,
    bindings: [q.segmentId],
  };
}

async function flowKpis(db: Db, ws: string, q: KpiQuery): Promise<FlowKpi[]> {
  const docs = (await db.raw(
    `SELECT f.id AS flow_id, f.name, v.version, v.document
       FROM flows f JOIN flow_versions v ON v.workspace_id = f.workspace_id AND v.flow_id = f.id
      WHERE f.workspace_id = ?${q.flowId ? ' AND f.id = ?' : ''}
      ORDER BY f.created_at, f.id, v.version`,
    q.flowId ? [ws, q.flowId] : [ws],
  )).rows as FlowVersionDoc[];
  const seg = contactFilter('r', q);
  const range = [q.from, q.to];
  const days = rolledDays(q);
  // Runs still there, plus those pruned into run_rollups (docs/operations.md §Retention).
  const counts = (await db.raw(
    `SELECT flow_id, version, sum(entered)::int AS entered, sum(converted)::int AS converted FROM (
       SELECT r.flow_id, r.version, count(*) AS entered, count(*) FILTER (WHERE r.status = 'converted') AS converted
         FROM runs r
        WHERE ${RUNS_OF_FLOWS(q)} AND r.started_at >= ? AND r.started_at < ?${seg.sql}
        GROUP BY 1, 2
       ${days ? `UNION ALL
       SELECT u.flow_id, u.version, u.entered, u.converted FROM run_rollups u
        WHERE u.workspace_id = ?${q.flowId ? ' AND u.flow_id = ?' : ''} AND u.day >= ?::date AND u.day < ?::date` : ''}) c
      GROUP BY 1, 2`,
    [ws, ...(q.flowId ? [q.flowId] : []), ws, ...range, ...seg.bindings, ...(days ? [ws, ...(q.flowId ? [q.flowId] : []), ...days] : [])],
  )).rows as { flow_id: string; version: number; entered: number; converted: number }[];

  // Split nodes of every version, with the goal event their holdout comparison uses.
  const splitFlow: string[] = []; const splitVersion: number[] = []; const splitNode: string[] = []; const splitGoal: string[] = [];
  for (const d of docs) {
    for (const n of d.document.nodes ?? []) {
      if (n.type !== 'split') continue;
      splitFlow.push(d.flow_id); splitVersion.push(d.version); splitNode.push(n.id); splitGoal.push(d.document.settings?.goal?.event ?? ''); // '' matches no event type
    }
  }
  // Split steps still there, plus those pruned into run_split_rollups with the day of the first goal event after the
  // start (a goal on day d counts for a period ending after d's midnight).
  const branchRows = splitNode.length === 0 ? [] : (await db.raw(
    `WITH splits AS (SELECT * FROM unnest(?::uuid[], ?::int[], ?::text[], ?::text[]) AS s(flow_id, version, node_id, goal_event))
     SELECT flow_id, node_id, branch, sum(entered)::int AS entered, sum(converted)::int AS converted, sum(goal_reached)::int AS goal_reached FROM (
       SELECT r.flow_id, s.node_id, st.output->>'branch' AS branch,
              count(*) AS entered,
              count(*) FILTER (WHERE r.status = 'converted') AS converted,
              count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM events e WHERE e.workspace_id = r.workspace_id AND e.contact_id = r.contact_id
                   AND e.type = s.goal_event AND e.occurred_at >= r.started_at AND e.occurred_at < ?)) AS goal_reached
         FROM runs r
         JOIN splits s ON s.flow_id = r.flow_id AND s.version = r.version
         JOIN LATERAL run_steps_of(r.workspace_id, r.id, r.steps, r.started_at) st ON st.node_id = s.node_id AND st.status = 'completed'
        WHERE r.workspace_id = ? AND r.started_at >= ? AND r.started_at < ?${seg.sql}
        GROUP BY 1, 2, 3
       ${days ? `UNION ALL
       SELECT u.flow_id, u.node_id, u.branch, u.entered, u.converted, CASE WHEN u.goal_day < ?::date THEN u.entered ELSE 0 END
         FROM run_split_rollups u JOIN splits s ON s.flow_id = u.flow_id AND s.version = u.version AND s.node_id = u.node_id
        WHERE u.workspace_id = ? AND u.day >= ?::date AND u.day < ?::date` : ''}) b
      GROUP BY 1, 2, 3`,
    [splitFlow, splitVersion, splitNode, splitGoal, q.to, ws, ...range, ...seg.bindings, ...(days ? [days[1], ws, ...days] : [])],
  )).rows as { flow_id: string; node_id: string; branch: string | null; entered: number; converted: number; goal_reached: number }[];

  const byFlow = new Map<string, FlowVersionDoc[]>();
  for (const d of docs) byFlow.set(d.flow_id, [...(byFlow.get(d.flow_id) ?? []), d]);
  const out: FlowKpi[] = [];
  for (const [flowId, versions] of byFlow) {
    const latest = versions[versions.length - 1]!;
    const goal = latest.document.settings?.goal ?? null;
    const hasGoal = goal !== null && goal !== undefined;
    const rate = (entered: number, converted: number, withGoal: boolean): Rate => ({
      entered, converted: withGoal ? converted : null, conversion_rate: withGoal ? ratio(converted, entered) : null,
    });
    const rows = counts.filter((c) => c.flow_id === flowId);
    const entered = rows.reduce((s, r) => s + r.entered, 0);
    const converted = rows.reduce((s, r) => s + r.converted, 0);
    const flow: FlowKpi = {
      flow_id: flowId, name: latest.name, has_goal: hasGoal, ...rate(entered, converted, hasGoal),
      versions: versions.map((v) => {
        const c = rows.find((r) => r.version === v.version);
        return { version: v.version, ...rate(c?.entered ?? 0, c?.converted ?? 0, Boolean(v.document.settings?.goal)) };
      }),
      splits: [],
    };
    const splitNodes = latest.document.nodes?.filter((n) => n.type === 'split') ?? [];
    for (const node of splitNodes) {
      const mine = branchRows.filter((b) => b.flow_id === flowId && b.node_id === node.id);
      const keys = ((node.config?.branches as { key: string }[] | undefined) ?? []).map((b) => b.key);
      const holdoutPct = (node.config?.holdout as number | undefined) ?? 0;
      flow.splits.push({
        node_id: node.id, holdout_pct: holdoutPct,
        branches: keys.map((key) => {
          const b = mine.find((m) => m.branch === key);
          return { key, ...rate(b?.entered ?? 0, b?.converted ?? 0, hasGoal) };
        }),
      });
      if (holdoutPct > 0 && flow.holdout === undefined) {
        // Holdout runs end at the split, so both arms are measured the same way: the goal event after entering.
        const measurable = hasGoal && typeof goal?.event === 'string';
        const held = mine.filter((m) => m.branch === null);
        const treatedRows = mine.filter((m) => m.branch !== null);
        const h = { n: held.reduce((s, m) => s + m.entered, 0), x: held.reduce((s, m) => s + m.goal_reached, 0) };
        const t = { n: treatedRows.reduce((s, m) => s + m.entered, 0), x: treatedRows.reduce((s, m) => s + m.goal_reached, 0) };
        flow.holdout = rate(h.n, h.x, measurable);
        const lift = measurable ? liftOf(t, h) : null;
        flow.lift = lift ? { ...lift, treated: rate(t.n, t.x, true), holdout: flow.holdout } : null;
      }
    }
    out.push(flow);
  }
  return out;
}

interface ContactFigures {
  churn_rate: number | null;
  retention_rate: number | null;
  active_at_start: number;
  churned: number;
  nps: number | null;
  nps_responses: number;
  nps_distribution: number[];
  csat: number | null;
  csat_responses: number;
  clv_avg: number | null;
  revenue: number;
  buyers: number;
  cac: number | null;
  spend: number | null;
  new_customers: number;
}

const AMOUNT = `CASE WHEN jsonb_typeof(e.properties->'amount') = 'number' THEN (e.properties->>'amount')::numeric END`;
const SCORE = `CASE WHEN jsonb_typeof(e.properties->'score') = 'number' THEN (e.properties->>'score')::numeric END`;

const DAY_MS = 86_400_000;
const utcDate = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Orders of [from, to) as rows `(workspace_id, contact_id, day, n, amount)`, one per contact and UTC day: the whole
 * days come from the roll-up ingestion keeps in its transaction (contact_activity_days, docs/segments.md; a partial
 * index reads only its orders), the partial days at either end from the raw events. Same figures, a fraction of
 * the rows: no event row, no JSON, per request.
 */
function ordersOf(ws: string, from: Date, to: Date): { sql: string; bindings: (string | Date)[] } {
  const fullFrom = Math.ceil(from.getTime() / DAY_MS) * DAY_MS;
  const fullTo = Math.floor(to.getTime() / DAY_MS) * DAY_MS;
  // No whole day inside: every order is read raw (the roll-up's range is empty).
  const whole = fullFrom < fullTo;
  const edges = whole ? [from, new Date(fullFrom), new Date(fullTo), to] : [from, to, to, to];
  return {
    sql: `(SELECT d.workspace_id, d.contact_id, d.day, d.count AS n, d.sum AS amount FROM contact_activity_days d
            WHERE d.workspace_id = ? AND d.event_type = 'order.completed' AND d.day >= ?::date AND d.day < ?::date
          UNION ALL
          SELECT e.workspace_id, e.contact_id, (e.occurred_at AT TIME ZONE 'UTC')::date, count(*), coalesce(sum(${AMOUNT}), 0)::float8
            FROM events e
           WHERE e.workspace_id = ? AND e.type = 'order.completed'
             AND ((e.occurred_at >= ? AND e.occurred_at < ?) OR (e.occurred_at >= ? AND e.occurred_at < ?))
           GROUP BY 1, 2, 3)`,
    bindings: [ws, utcDate(whole ? fullFrom : 0), utcDate(whole ? fullTo : 0), ws, ...edges],
  };
}

async function contactFigures(db: Db, ws: string, q: KpiQuery): Promise<ContactFigures> {
  const seg = contactFilter('e', q);
  const windowStart = new Date(q.from.getTime() - q.churnWindowDays * 86_400_000);
  const lastWindow = new Date(q.to.getTime() - q.churnWindowDays * 86_400_000);
  const before = ordersOf(ws, windowStart, q.from);
  const last = ordersOf(ws, lastWindow, q.to);
  const churn = (await db.raw(
    `WITH active AS (SELECT DISTINCT e.contact_id FROM ${before.sql} e WHERE true${seg.sql}),
     still AS (SELECT DISTINCT o.contact_id FROM ${last.sql} o),
     quit AS (SELECT DISTINCT c.contact_id FROM events c WHERE c.workspace_id = ? AND c.type = 'customer.churned' AND c.occurred_at >= ? AND c.occurred_at < ?)
     SELECT count(*)::int AS active,
            count(*) FILTER (WHERE q.contact_id IS NOT NULL OR s.contact_id IS NULL)::int AS churned
       FROM active a LEFT JOIN still s ON s.contact_id = a.contact_id LEFT JOIN quit q ON q.contact_id = a.contact_id`,
    [...before.bindings, ...seg.bindings, ...last.bindings, ws, q.from, q.to],
  )).rows[0] as { active: number; churned: number };
  const churnRate = ratio(churn.churned, churn.active);

  const scores = (await db.raw(
    `SELECT e.type, ${SCORE} AS score, count(*)::int AS n FROM events e
      WHERE e.workspace_id = ? AND e.type IN ('nps.responded', 'csat.responded') AND e.occurred_at >= ? AND e.occurred_at < ?${seg.sql}
      GROUP BY 1, 2`,
    [ws, q.from, q.to, ...seg.bindings],
  )).rows as { type: string; score: string | null; n: number }[];
  const npsDist = Array.from({ length: 11 }, () => 0);
  let csatN = 0; let csatGood = 0;
  for (const s of scores) {
    const v = s.score === null ? NaN : Number(s.score);
    if (s.type === 'nps.responded' && Number.isInteger(v) && v >= 0 && v <= 10) npsDist[v]! += s.n;
    if (s.type === 'csat.responded' && Number.isInteger(v) && v >= 1 && v <= 5) { csatN += s.n; if (v >= 4) csatGood += s.n; }
  }
  const npsN = npsDist.reduce((a, b) => a + b, 0);
  const promoters = npsDist[9]! + npsDist[10]!;
  const detractors = npsDist.slice(0, 7).reduce((a, b) => a + b, 0);

  const period = ordersOf(ws, q.from, q.to);
  // Revenue, buyers and new customers (an order in the period and the first one ever: contact_activity.first_at).
  const orders = (await db.raw(
    `WITH o AS (SELECT e.contact_id, sum(e.amount) AS amount FROM ${period.sql} e WHERE true${seg.sql} GROUP BY 1)
     SELECT coalesce(sum(o.amount), 0)::float8 AS revenue, count(*)::int AS buyers,
            count(*) FILTER (WHERE a.first_at >= ?)::int AS new_customers
       FROM o LEFT JOIN contact_activity a ON a.workspace_id = ? AND a.contact_id = o.contact_id AND a.event_type = 'order.completed'`,
    [...period.bindings, ...seg.bindings, q.from, ws],
  )).rows[0] as { revenue: number; buyers: number; new_customers: number };
  const spendRow = (await db.raw(
    `SELECT (sum(${AMOUNT}))::float8 AS spend, count(*)::int AS spend_events FROM events e
      WHERE e.workspace_id = ? AND e.type = 'marketing.spend' AND e.occurred_at >= ? AND e.occurred_at < ?${seg.sql}`,
    [ws, q.from, q.to, ...seg.bindings],
  )).rows[0] as { spend: number | null; spend_events: number };
  const money = { ...orders, ...spendRow };
  const firsts = { n: orders.new_customers };

  const arpu = ratio(money.revenue, money.buyers);
  const lifetime = churnRate && churnRate > 0 ? Math.min(1 / churnRate, CLV_MAX_PERIODS) : CLV_MAX_PERIODS;
  const spend = money.spend_events > 0 ? money.spend ?? 0 : null;
  return {
    churn_rate: churnRate, retention_rate: churnRate === null ? null : 1 - churnRate, active_at_start: churn.active, churned: churn.churned,
    nps: npsN > 0 ? (100 * (promoters - detractors)) / npsN : null, nps_responses: npsN, nps_distribution: npsDist,
    csat: csatN > 0 ? (100 * csatGood) / csatN : null, csat_responses: csatN,
    clv_avg: arpu === null ? null : arpu * lifetime, revenue: money.revenue, buyers: money.buyers,
    cac: spend === null ? null : ratio(spend, firsts.n), spend, new_customers: firsts.n,
  };
}

/** Buckets of the period (UTC calendar day, ISO week or month): runs entered/converted, orders, revenue. */
async function series(db: Db, ws: string, q: KpiQuery) {
  const seg = contactFilter('e', q);
  const period = ordersOf(ws, q.from, q.to);
  const segR = contactFilter('r', q);
  const days = rolledDays(q);
  const rows = (await db.raw(
    `WITH buckets AS (
       SELECT b AS start, b + ('1 ' || ?)::interval AS "end"
         FROM generate_series(date_trunc(?, ?::timestamptz AT TIME ZONE 'UTC'), (?::timestamptz AT TIME ZONE 'UTC') - interval '1 microsecond', ('1 ' || ?)::interval) b),
     ev AS (
       SELECT date_trunc(?, e.day::timestamp) AS start, sum(e.n)::int AS orders, coalesce(sum(e.amount), 0)::float8 AS revenue
         FROM ${period.sql} e WHERE true${seg.sql}
        GROUP BY 1),
     rn AS (
       SELECT start, sum(entered)::int AS entered, sum(converted)::int AS converted FROM (
         SELECT date_trunc(?, r.started_at AT TIME ZONE 'UTC') AS start, count(*) AS entered, count(*) FILTER (WHERE r.status = 'converted') AS converted
           FROM runs r WHERE ${RUNS_OF_FLOWS(q)} AND r.started_at >= ? AND r.started_at < ?${segR.sql}
          GROUP BY 1
         ${days ? `UNION ALL
         SELECT date_trunc(?, u.day::timestamp), u.entered, u.converted FROM run_rollups u
          WHERE u.workspace_id = ?${q.flowId ? ' AND u.flow_id = ?' : ''} AND u.day >= ?::date AND u.day < ?::date` : ''}) x
        GROUP BY 1)
     SELECT b.start, b."end", coalesce(rn.entered, 0) AS entered, coalesce(rn.converted, 0) AS converted,
            coalesce(ev.orders, 0) AS orders, coalesce(ev.revenue, 0) AS revenue
       FROM buckets b LEFT JOIN ev ON ev.start = b.start LEFT JOIN rn ON rn.start = b.start ORDER BY b.start`,
    [q.interval, q.interval, q.from, q.to, q.interval,
      q.interval, ...period.bindings, ...seg.bindings,
      q.interval, ws, ...(q.flowId ? [q.flowId] : []), ws, q.from, q.to, ...segR.bindings,
      ...(days ? [q.interval, ws, ...(q.flowId ? [q.flowId] : []), ...days] : [])],
  )).rows as { start: Date; end: Date; entered: number; converted: number; orders: number; revenue: number }[];
  const iso = (d: Date) => new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes())).toISOString();
  return rows.map((r) => ({ start: iso(r.start), end: iso(r.end), entered: r.entered, converted: r.converted, orders: r.orders, revenue: r.revenue }));
}

/** Monthly cohorts by first purchase month within the period; retained[k] = share of the cohort buying in month k. */
async function cohorts(db: Db, ws: string, q: KpiQuery) {
  const seg = contactFilter('e', q);
  const monthStart = new Date(Date.UTC(q.from.getUTCFullYear(), q.from.getUTCMonth(), 1));
  const period = ordersOf(ws, monthStart, q.to);
  // Orders from the first cohort month on; a contact's cohort is the month of its first order ever (contact_activity).
  const rows = (await db.raw(
    `WITH orders AS (
       SELECT DISTINCT e.contact_id, date_trunc('month', e.day::timestamp) AS month FROM ${period.sql} e WHERE true${seg.sql}),
     firsts AS (
       SELECT a.contact_id, date_trunc('month', a.first_at AT TIME ZONE 'UTC') AS cohort
         FROM (SELECT DISTINCT contact_id FROM orders) d
         JOIN contact_activity a ON a.workspace_id = ? AND a.contact_id = d.contact_id AND a.event_type = 'order.completed'
        WHERE a.first_at >= ?)
     SELECT to_char(f.cohort, 'YYYY-MM') AS cohort,
            ((extract(year FROM o.month) - extract(year FROM f.cohort)) * 12 + extract(month FROM o.month) - extract(month FROM f.cohort))::int AS k,
            count(DISTINCT o.contact_id)::int AS n
       FROM firsts f JOIN orders o ON o.contact_id = f.contact_id
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [...period.bindings, ...seg.bindings, ws, monthStart],
  )).rows as { cohort: string; k: number; n: number }[];
  const out = new Map<string, { cohort: string; size: number; retained: number[] }>();
  for (const r of rows) {
    const c = out.get(r.cohort) ?? { cohort: r.cohort, size: 0, retained: [] };
    if (r.k === 0) c.size = r.n;
    c.retained[r.k] = r.n;
    out.set(r.cohort, c);
  }
  return [...out.values()].map((c) => ({ cohort: c.cohort, size: c.size, retained: Array.from(c.retained, (n) => (c.size > 0 ? (n ?? 0) / c.size : 0)) }));
}

/**
 * Email engagement: per flow and email node, messages sent in the period and runs with a tracked open / click in it;
 * workspace totals of bounces, complaints and unsubscribes (those events carry no run, so no node).
 */
async function email(db: Db, ws: string, q: KpiQuery) {
  const segM = contactFilter('m', q);
  const segE = contactFilter('e', q);
  const UUID = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;
  // A message's flow is its run's, or, once the run is pruned, the one retention wrote on it (email_messages.flow_id).
  const nodes = (await db.raw(
    `WITH sent AS (
       SELECT coalesce(m.flow_id, r.flow_id) AS flow_id, m.node_id, count(*)::int AS sent FROM email_messages m
         LEFT JOIN runs r ON r.id = m.run_id AND r.workspace_id = m.workspace_id AND m.flow_id IS NULL
        WHERE m.workspace_id = ? AND m.status = 'sent' AND m.sent_at >= ? AND m.sent_at < ?${segM.sql}
          AND coalesce(m.flow_id, r.flow_id) ${q.flowId ? '= ?' : 'IS NOT NULL'}
        GROUP BY 1, 2),
     opens AS (
       SELECT e.type, e.properties->>'node_id' AS node_id, CASE WHEN e.properties->>'run_id' ~ ${UUID} THEN (e.properties->>'run_id')::uuid END AS run_id
         FROM events e
        WHERE e.workspace_id = ? AND e.type IN ('email.opened', 'email.clicked') AND e.occurred_at >= ? AND e.occurred_at < ?${segE.sql}),
     tracked AS (
       SELECT o.flow_id, o.node_id,
              count(DISTINCT o.run_id) FILTER (WHERE o.type = 'email.opened')::int AS opened,
              count(DISTINCT o.run_id) FILTER (WHERE o.type = 'email.clicked')::int AS clicked
         FROM (SELECT o.type, o.node_id, o.run_id,
                      coalesce((SELECT r.flow_id FROM runs r WHERE r.workspace_id = ? AND r.id = o.run_id),
                               (SELECT m.flow_id FROM email_messages m WHERE m.workspace_id = ? AND m.run_id = o.run_id AND m.node_id = o.node_id)) AS flow_id
                 FROM opens o WHERE o.run_id IS NOT NULL) o
        WHERE o.flow_id ${q.flowId ? '= ?' : 'IS NOT NULL'}
        GROUP BY 1, 2)
     SELECT coalesce(s.flow_id, t.flow_id) AS flow_id, coalesce(s.node_id, t.node_id) AS node_id,
            coalesce(s.sent, 0) AS sent, coalesce(t.opened, 0) AS opened, coalesce(t.clicked, 0) AS clicked
       FROM sent s FULL JOIN tracked t ON t.flow_id = s.flow_id AND t.node_id = s.node_id
      ORDER BY 1, 2`,
    [ws, q.from, q.to, ...segM.bindings, ...(q.flowId ? [q.flowId] : []), ws, q.from, q.to, ...segE.bindings, ws, ws, ...(q.flowId ? [q.flowId] : [])],
  )).rows as { flow_id: string; node_id: string; sent: number; opened: number; clicked: number }[];
  const [totals] = (await db.raw(
    `SELECT count(*) FILTER (WHERE e.type = 'email.bounced')::int AS bounced,
            count(*) FILTER (WHERE e.type = 'email.complained')::int AS complained,
            count(*) FILTER (WHERE e.type = 'email.unsubscribed')::int AS unsubscribed
       FROM events e WHERE e.workspace_id = ? AND e.type IN ('email.bounced', 'email.complained', 'email.unsubscribed')
        AND e.occurred_at >= ? AND e.occurred_at < ?${segE.sql}`,
    [ws, q.from, q.to, ...segE.bindings],
  )).rows as { bounced: number; complained: number; unsubscribed: number }[];
  return {
    nodes: nodes.map((n) => ({ ...n, delivered: null, open_rate: ratio(n.opened, n.sent), click_rate: ratio(n.clicked, n.sent) })),
    ...totals!,
  };
}

/** The lifecycle stages of the funnel, in order (HubSpot's standard stages, as `contacts.lifecycle_stage` values). */
export const FUNNEL_STAGES = ['subscriber', 'lead', 'marketing_qualified_lead', 'sales_qualified_lead', 'opportunity', 'customer', 'evangelist'] as const;

/**
 * Lifecycle-stage funnel of the contacts created in the period, by their current stage (no stage history is kept):
 * `reached` counts contacts at this stage or a later one; other stage values and no stage are counted apart.
 */
async function funnel(db: Db, ws: string, q: KpiQuery) {
  const seg = contactFilter('c', q);
  const rows = (await db.raw(
    `SELECT c.lifecycle_stage AS stage, count(*)::int AS n FROM (SELECT workspace_id, id AS contact_id, lifecycle_stage FROM contacts
        WHERE workspace_id = ? AND created_at >= ? AND created_at < ? AND erased_at IS NULL) c
      WHERE true${seg.sql} GROUP BY 1`,
    [ws, q.from, q.to, ...seg.bindings],
  )).rows as { stage: string | null; n: number }[];
  const current = new Map(rows.map((r) => [r.stage, r.n]));
  const known = new Set<string | null>(FUNNEL_STAGES);
  let reached = FUNNEL_STAGES.reduce((sum, st) => sum + (current.get(st) ?? 0), 0);
  const stages = FUNNEL_STAGES.map((stage) => {
    const here = { stage, current: current.get(stage) ?? 0, reached };
    reached -= here.current;
    return { ...here, rate_from_previous: null as number | null };
  });
  stages.forEach((st, i) => { if (i > 0) st.rate_from_previous = ratio(st.reached, stages[i - 1]!.reached); });
  const other: Record<string, number> = {};
  for (const r of rows) if (r.stage !== null && !known.has(r.stage)) other[r.stage] = r.n;
  return { contacts: rows.reduce((sum, r) => sum + r.n, 0), stages, no_stage: current.get(null) ?? 0, other_stages: other };
}

/**
 * CLV per segment (its current members), defined as the workspace's: revenue ÷ buyers in the period × the projected
 * lifetime 1 ÷ churn rate of the segment's own customers (capped at CLV_MAX_PERIODS). The `segment` filter does not apply.
 */
async function clvBySegment(db: Db, ws: string, q: KpiQuery) {
  const windowStart = new Date(q.from.getTime() - q.churnWindowDays * DAY_MS);
  const lastWindow = new Date(q.to.getTime() - q.churnWindowDays * DAY_MS);
  const period = ordersOf(ws, q.from, q.to);
  const before = ordersOf(ws, windowStart, q.from);
  const last = ordersOf(ws, lastWindow, q.to);
  const rows = (await db.raw(
    `WITH buyers AS (SELECT contact_id, sum(amount) AS amount FROM ${period.sql} o GROUP BY 1),
     active AS (SELECT DISTINCT contact_id FROM ${before.sql} o),
     still AS (SELECT DISTINCT contact_id FROM ${last.sql} o),
     quit AS (SELECT DISTINCT contact_id FROM events WHERE workspace_id = ? AND type = 'customer.churned' AND occurred_at >= ? AND occurred_at < ?),
     per AS (
       SELECT m.segment_id,
              coalesce(sum(b.amount), 0)::float8 AS revenue, count(b.contact_id)::int AS buyers,
              count(a.contact_id)::int AS active,
              count(a.contact_id) FILTER (WHERE qt.contact_id IS NOT NULL OR st.contact_id IS NULL)::int AS churned
         FROM segment_members m
         LEFT JOIN buyers b ON b.contact_id = m.contact_id
         LEFT JOIN active a ON a.contact_id = m.contact_id
         LEFT JOIN still st ON st.contact_id = a.contact_id
         LEFT JOIN quit qt ON qt.contact_id = a.contact_id
        WHERE m.workspace_id = ?
        GROUP BY 1)
     SELECT s.key, s.name, coalesce(p.revenue, 0)::float8 AS revenue, coalesce(p.buyers, 0) AS buyers,
            coalesce(p.active, 0) AS active, coalesce(p.churned, 0) AS churned
       FROM segments s LEFT JOIN per p ON p.segment_id = s.id WHERE s.workspace_id = ? ORDER BY s.key`,
    [...period.bindings, ...before.bindings, ...last.bindings, ws, q.from, q.to, ws, ws],
  )).rows as { key: string; name: string; revenue: number; buyers: number; active: number; churned: number }[];
  return rows.map((r) => {
    const churnRate = ratio(r.churned, r.active);
    const arpu = ratio(r.revenue, r.buyers);
    const lifetime = churnRate && churnRate > 0 ? Math.min(1 / churnRate, CLV_MAX_PERIODS) : CLV_MAX_PERIODS;
    return { segment: r.key, name: r.name, revenue: r.revenue, buyers: r.buyers, churn_rate: churnRate, clv_avg: arpu === null ? null : arpu * lifetime };
  });
}

/** The whole KPI answer of `GET /v1/kpis`. */
export async function computeKpis(db: Db, workspaceId: string, q: KpiQuery) {
  const [flows, figures, buckets, cohortRows, emailFigures, funnelFigures, clvSegments] = await Promise.all([
    flowKpis(db, workspaceId, q), contactFigures(db, workspaceId, q), series(db, workspaceId, q), cohorts(db, workspaceId, q), email(db, workspaceId, q),
    funnel(db, workspaceId, q), clvBySegment(db, workspaceId, q),
  ]);
  return {
    from: q.from.toISOString(), to: q.to.toISOString(), interval: q.interval, churn_window_days: q.churnWindowDays,
    flows, ...figures, clv_by_segment: clvSegments, funnel: funnelFigures, series: buckets, cohorts: cohortRows, email: emailFigures,
  };
}
