import { prepared, type Db, type Tx } from '../../db/index.ts';
import { parseDuration } from '../../time/duration.ts';
import type { IngestedEvent } from '../event-hooks.ts';

/** The numeric event property summed by the `sum` measure. */
export const SUM_PROPERTY = 'amount';
const DAY_MS = 86_400_000;

/** All-time behavioural attributes of one contact for one event type. */
export interface ActivityTotals {
  count: number;
  sum: number;
  firstAt: Date;
  lastAt: Date;
}

/** What a batch of evaluations needs: the event types the rules name, and how far back their windows reach. */
export interface ActivityNeeds {
  types: string[];
  /** Earliest UTC day a windowed count/sum may read, or null when no rule has a window. */
  fromDay: string | null;
}

/** One contact's attributes: totals by type, and counts/sums by type and UTC day (`YYYY-MM-DD`). */
export interface ContactActivity {
  totals: Map<string, ActivityTotals>;
  days: Map<string, { day: string; count: number; sum: number }[]>;
}

const EMPTY: ContactActivity = { totals: new Map(), days: new Map() };
export const utcDay = (d: Date): string => d.toISOString().slice(0, 10);
const amountOf = (properties: Record<string, unknown>): number => {
  const v = properties[SUM_PROPERTY];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
};

/** Kept for every workspace: KPIs (new customers, cohorts) and RFM read it whether or not a rule names it. */
const ALWAYS_TRACKED = new Set(['order.completed']);
/** In activity_types: every event type is kept (churn risk counts engagement over all of them). */
export const ALL_TYPES = '*';

/**
 * Types known to be tracked, per workspace. Only positive answers are cached: a type never stops being tracked,
 * while one process cannot see another start tracking a type, so an unknown type is always asked again.
 */
const trackedCache = new Map<string, Set<string>>();
const cacheTracked = (workspaceId: string, types: Iterable<string>) => {
  if (trackedCache.size > 10_000) trackedCache.clear();
  let set = trackedCache.get(workspaceId);
  if (!set) trackedCache.set(workspaceId, (set = new Set()));
  for (const t of types) set.add(t);
};
const lockKey = (workspaceId: string) => `cairn.activity:${workspaceId}`;

/**
 * Which of `types` have their attributes kept in this workspace. With `lock`, ingestion takes the workspace's
 * activity lock in shared mode first (held until it commits): a reader that starts tracking a type takes it in
 * exclusive mode, so its backfill from events runs only once every transaction that skipped the type has committed,
 * and every later one sees the type as tracked. No event is counted twice or missed.
 */
export async function trackedTypes(q: Db | Tx, workspaceId: string, types: string[], opts: { lock: boolean }): Promise<Set<string>> {
  const { out, unknown } = knownTracked(workspaceId, types);
  if (unknown.length === 0) return out;
  // Its own statement: under READ COMMITTED the lookup below then sees a tracker that committed while we waited.
  if (opts.lock) await lockActivityShared(q, workspaceId);
  const { rows } = await q.raw(
    `SELECT ${TRACKED_LOOKUP} AS types`,
    [workspaceId, [...unknown, ALL_TYPES]],
  );
  return addTracked(workspaceId, out, unknown, (rows[0] as { types: string[] }).types);
}

/** The types this process already knows are tracked, and the ones to look up (the cache only holds positive answers). */
export function knownTracked(workspaceId: string, types: string[]): { out: Set<string>; unknown: string[] } {
  const known = trackedCache.get(workspaceId);
  const isKnown = (t: string) => ALWAYS_TRACKED.has(t) || known?.has(t) === true || known?.has(ALL_TYPES) === true;
  return { out: new Set(types.filter(isKnown)), unknown: types.filter((t) => !isKnown(t)) };
}

/** Ingestion's side of the activity lock (see `trackedTypes`): its own statement, before the tracked-types lookup. */
export async function lockActivityShared(q: Db | Tx, workspaceId: string): Promise<void> {
  const { sql, bindings } = activityLockSharedSql(workspaceId);
  await prepared(q, sql, bindings);
}

/** The statement lockActivityShared runs, to run as part of another (crm/ingest-config.ts activityLockWithInsert). */
export function activityLockSharedSql(workspaceId: string): { sql: string; bindings: unknown[] } {
  return { sql: `SELECT pg_advisory_xact_lock_shared(hashtextextended(?, 0))`, bindings: [lockKey(workspaceId)] };
}

/** A SQL expression: the tracked types among `?::text[]` for workspace `?` (pass the unknown types and ALL_TYPES). */
export const TRACKED_LOOKUP = `array(SELECT event_type FROM activity_types WHERE workspace_id = ? AND event_type = ANY(?::text[]))`;

/** Adds the lookup's answer (`found`, from TRACKED_LOOKUP) to `out` and to this process's cache; returns `out`. */
export function addTracked(workspaceId: string, out: Set<string>, unknown: string[], found: string[]): Set<string> {
  cacheTracked(workspaceId, found);
  const all = found.includes(ALL_TYPES);
  for (const t of unknown) if (all || found.includes(t)) out.add(t);
  return out;
}

/**
 * A reader (segment rule, published flow, churn risk with `*`) starts needing these types: they are tracked from
 * now on, and their attributes are built from the stored events of live contacts in this transaction (under the
 * workspace's activity lock in exclusive mode, see `trackedTypes`). Already tracked types cost one cached lookup.
 */
export async function trackActivityTypes(tx: Tx, workspaceId: string, types: string[]): Promise<void> {
  const wanted = [...new Set(types)];
  const tracked = await trackedTypes(tx, workspaceId, wanted, { lock: false });
  const missing = wanted.filter((t) => !tracked.has(t));
  if (missing.length === 0) return;
  await tx.raw(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, [lockKey(workspaceId)]);
  const { rows } = await tx.raw(
    `INSERT INTO activity_types (workspace_id, event_type, tracked_at) SELECT ?, t, now() FROM unnest(?::text[]) AS t
     ON CONFLICT DO NOTHING RETURNING event_type`,
    [workspaceId, missing],
  );
  const added = (rows as { event_type: string }[]).map((r) => r.event_type);
  if (added.length === 0) return;
  // Rows already there were kept by ingestion (or tracked under '*'): the backfill only adds what is missing.
  const all = added.includes(ALL_TYPES);
  const typeFilter = all ? '' : 'AND e.type = ANY(?::text[])';
  const bindings = all ? [workspaceId] : [workspaceId, added];
  await tx.raw(
    `WITH src AS (
       SELECT e.contact_id, e.type, e.occurred_at,
              CASE WHEN jsonb_typeof(e.properties->'${SUM_PROPERTY}') = 'number' THEN (e.properties->>'${SUM_PROPERTY}')::float8 ELSE 0 END AS amount
         FROM events e JOIN contacts c ON c.workspace_id = e.workspace_id AND c.id = e.contact_id AND c.erased_at IS NULL
        WHERE e.workspace_id = ? ${typeFilter}
     ), totals AS (
       INSERT INTO contact_activity (workspace_id, contact_id, event_type, count, sum, first_at, last_at)
       SELECT ?, contact_id, type, count(*), sum(amount), min(occurred_at), max(occurred_at) FROM src GROUP BY contact_id, type
       ON CONFLICT DO NOTHING RETURNING 1
     )
     INSERT INTO contact_activity_days (workspace_id, contact_id, event_type, day, count, sum)
     SELECT ?, contact_id, type, (occurred_at AT TIME ZONE 'UTC')::date, count(*), sum(amount) FROM src GROUP BY 2, 3, 4
     ON CONFLICT DO NOTHING`,
    [...bindings, workspaceId, workspaceId],
  );
}

/**
 * Keeps the attributes current in the ingestion transaction, for the tracked types: the batch is aggregated in
 * memory, then one statement upserts the all-time rows and the day rows. The contacts' row locks (held by
 * ingestion) order concurrent batches. Events of types nothing reads cost one lookup per batch, no write.
 */
export async function recordActivity(tx: Tx, workspaceId: string, all: IngestedEvent[], trackedAlready?: Set<string>): Promise<void> {
  if (all.length === 0) return;
  // `trackedAlready`: looked up (under the lock) by the ingestion's configuration read (crm/ingest-config.ts).
  const tracked = trackedAlready ?? await trackedTypes(tx, workspaceId, [...new Set(all.map((e) => e.type))], { lock: true });
  const events = tracked.size === 0 ? [] : all.filter((e) => tracked.has(e.type));
  if (events.length === 0) return;
  const totals = new Map<string, { c: string; t: string; n: number; s: number; f: number; l: number }>();
  const days = new Map<string, { c: string; t: string; d: string; n: number; s: number }>();
  for (const e of events) {
    const at = e.occurredAt.getTime();
    const amount = amountOf(e.properties);
    const k = `${e.contactId}\u0000${e.type}`;
    const tot = totals.get(k);
    if (tot) {
      tot.n++;
      tot.s += amount;
      tot.f = Math.min(tot.f, at);
      tot.l = Math.max(tot.l, at);
    } else totals.set(k, { c: e.contactId, t: e.type, n: 1, s: amount, f: at, l: at });
    const d = utcDay(e.occurredAt);
    const dk = `${k}\u0000${d}`;
    const day = days.get(dk);
    if (day) {
      day.n++;
      day.s += amount;
    } else days.set(dk, { c: e.contactId, t: e.type, d, n: 1, s: amount });
  }
  // Sorted, so two batches touching the same rows take their locks in the same order.
  const t = [...totals.values()].sort((a, b) => (a.c === b.c ? (a.t < b.t ? -1 : 1) : a.c < b.c ? -1 : 1));
  const dy = [...days.values()].sort((a, b) => (a.c === b.c ? (a.t === b.t ? (a.d < b.d ? -1 : 1) : a.t < b.t ? -1 : 1) : a.c < b.c ? -1 : 1));
  await tx.raw(
    `WITH totals AS (
       INSERT INTO contact_activity AS a (workspace_id, contact_id, event_type, count, sum, first_at, last_at)
       SELECT ?, c, t, n, s, to_timestamp(f / 1000.0), to_timestamp(l / 1000.0)
         FROM unnest(?::uuid[], ?::text[], ?::bigint[], ?::float8[], ?::float8[], ?::float8[]) AS u(c, t, n, s, f, l)
       ON CONFLICT (workspace_id, contact_id, event_type) DO UPDATE SET count = a.count + EXCLUDED.count, sum = a.sum + EXCLUDED.sum,
         first_at = least(a.first_at, EXCLUDED.first_at), last_at = greatest(a.last_at, EXCLUDED.last_at)
       RETURNING 1
     )
     INSERT INTO contact_activity_days AS a (workspace_id, contact_id, event_type, day, count, sum)
     SELECT ?, c, t, d, n, s FROM unnest(?::uuid[], ?::text[], ?::date[], ?::int[], ?::float8[]) AS u(c, t, d, n, s)
     ON CONFLICT (workspace_id, contact_id, event_type, day) DO UPDATE SET count = a.count + EXCLUDED.count, sum = a.sum + EXCLUDED.sum`,
    [
      workspaceId, t.map((r) => r.c), t.map((r) => r.t), t.map((r) => r.n), t.map((r) => r.s), t.map((r) => r.f), t.map((r) => r.l),
      workspaceId, dy.map((r) => r.c), dy.map((r) => r.t), dy.map((r) => r.d), dy.map((r) => r.n), dy.map((r) => r.s),
    ],
  );
}

/** The needs of one load at `now` for flows' `activity` reads (event types, and the windows they count over). */
export function flowActivityNeeds(reads: { types: string[]; windows: string[] }[], now: Date): ActivityNeeds {
  const types = new Set<string>();
  let fromDay: string | null = null;
  for (const r of reads) {
    r.types.forEach((t) => types.add(t));
    for (const w of r.windows) {
      const d = windowStartDay(now, w);
      if (fromDay === null || d < fromDay) fromDay = d;
    }
  }
  return { types: [...types], fromDay };
}

/**
 * Loads the attributes the rules need for these contacts: two index range reads, whatever the batch size. A type
 * no reader has started tracking (a rule being previewed or dry-run) is counted from the stored events instead.
 */
export async function loadActivity(tx: Db | Tx, workspaceId: string, contactIds: string[], needs: ActivityNeeds): Promise<Map<string, ContactActivity>> {
  const out = new Map<string, ContactActivity>();
  if (needs.types.length === 0 || contactIds.length === 0) return out;
  const of = (id: string) => {
    let a = out.get(id);
    if (!a) out.set(id, (a = { totals: new Map(), days: new Map() }));
    return a;
  };
  const tracked = await trackedTypes(tx, workspaceId, needs.types, { lock: false });
  const kept = needs.types.filter((t) => tracked.has(t));
  const counted = needs.types.filter((t) => !tracked.has(t));
  const amount = `CASE WHEN jsonb_typeof(properties->'${SUM_PROPERTY}') = 'number' THEN (properties->>'${SUM_PROPERTY}')::float8 ELSE 0 END`;
  const totals = await tx.raw(
    `SELECT contact_id, event_type, count, sum, first_at, last_at FROM contact_activity
      WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) AND event_type = ANY(?::text[])
     UNION ALL
     SELECT contact_id, type, count(*), sum(${amount}), min(occurred_at), max(occurred_at) FROM events
      WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) AND type = ANY(?::text[]) GROUP BY 1, 2`,
    [workspaceId, contactIds, kept, workspaceId, counted.length ? contactIds : [], counted],
  );
  for (const r of totals.rows as { contact_id: string; event_type: string; count: number; sum: number; first_at: Date; last_at: Date }[]) {
    of(r.contact_id).totals.set(r.event_type, { count: r.count, sum: r.sum, firstAt: r.first_at, lastAt: r.last_at });
  }
  if (needs.fromDay !== null) {
    const days = await tx.raw(
      `SELECT contact_id, event_type, to_char(day, 'YYYY-MM-DD') AS day, count, sum FROM contact_activity_days
        WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) AND event_type = ANY(?::text[]) AND day >= ?::date
       UNION ALL
       SELECT contact_id, type, to_char((occurred_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), count(*)::int, sum(${amount}) FROM events
        WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) AND type = ANY(?::text[]) AND occurred_at >= ?::date::timestamp AT TIME ZONE 'UTC'
        GROUP BY 1, 2, 3`,
      [workspaceId, contactIds, kept, needs.fromDay, workspaceId, counted.length ? contactIds : [], counted, needs.fromDay],
    );
    for (const r of days.rows as { contact_id: string; event_type: string; day: string; count: number; sum: number }[]) {
      const a = of(r.contact_id);
      const list = a.days.get(r.event_type) ?? [];
      list.push({ day: r.day, count: r.count, sum: r.sum });
      a.days.set(r.event_type, list);
    }
  }
  return out;
}

const lastStart = new Map<string, { nowMs: number; day: string }>();

/** First UTC day inside a window `within` that ends at `now`: a day counts while it is on or after this one. */
export function windowStartDay(now: Date, within: string): string {
  // A batch evaluates many contacts at one `now`: the last answer per window is remembered.
  const hit = lastStart.get(within);
  if (hit && hit.nowMs === now.getTime()) return hit.day;
  const day = utcDay(parseDuration(within)!.subtractFrom(now));
  if (lastStart.size > 100) lastStart.clear();
  lastStart.set(within, { nowMs: now.getTime(), day });
  return day;
}

/**
 * The `activity` fact of one contact: `{ event, measure, within? }` → a number (count, sum; 0 when none) or an
 * RFC 3339 time (first_at, last_at; undefined when never). Windows are counted in whole UTC days.
 */
export function activityReader(activity: ContactActivity | undefined, now: Date): (params: Record<string, unknown>) => unknown {
  const a = activity ?? EMPTY;
  return (params) => {
    const type = String(params.event);
    const measure = params.measure;
    if (typeof params.within === 'string' && (measure === 'count' || measure === 'sum')) {
      const from = windowStartDay(now, params.within);
      let total = 0;
      for (const d of a.days.get(type) ?? []) if (d.day >= from) total += measure === 'count' ? d.count : d.sum;
      return total;
    }
    const t = a.totals.get(type);
    if (measure === 'count') return t?.count ?? 0;
    if (measure === 'sum') return t?.sum ?? 0;
    if (measure === 'first_at') return t?.firstAt.toISOString();
    if (measure === 'last_at') return t?.lastAt.toISOString();
    return undefined;
  };
}

/**
 * When a windowed measure next changes by the passing of time alone: the day row that leaves the window first
 * (day D leaves once `now − within` passes midnight after D).
 */
export function nextWindowExit(activity: ContactActivity | undefined, type: string, within: string, now: Date): Date | null {
  const from = windowStartDay(now, within);
  let first: string | null = null;
  for (const d of activity?.days.get(type) ?? []) if (d.day >= from && (first === null || d.day < first)) first = d.day;
  if (first === null) return null;
  const leaves = parseDuration(within)!.addTo(new Date(Date.parse(`${first}T00:00:00Z`) + DAY_MS));
  return leaves > now ? leaves : new Date(now.getTime() + DAY_MS);
}

/** Erasure: the contact's attributes go with it. */
export async function eraseActivity(tx: Tx, workspaceId: string, contactId: string): Promise<void> {
  await tx.raw(`DELETE FROM contact_activity WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  await tx.raw(`DELETE FROM contact_activity_days WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
}
