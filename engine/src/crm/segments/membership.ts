import type { Db, Tx } from '../../db/index.ts';
import { prepared, withTx } from '../../db/index.ts';
import { CONTACT_COLUMNS, type ContactRow } from '../contacts.ts';
import { registerErasureStep } from '../erasure.ts';
import type { IngestedEvent, OnEventsIngested } from '../event-hooks.ts';
import { isBehaviour, type IngestConfig, type SegmentRow } from '../ingest-config.ts';
import type { NowSource } from '../../rules/index.ts';
import { ingestEvents } from '../events.ts';
import { eraseActivity, loadActivity, recordActivity, utcDay } from './activity.ts';
import { compileSegment, mergeNeeds, type CompiledSegment } from './rule.ts';
import { eraseScores, loadScores, recomputeScores, staleScoreWorkspaces } from './scores.ts';

/**
 * Re-evaluates the segments of these contacts (their rows locked by `tx`) and records every transition. `at`
 * gives a contact its own evaluation time (a wake-up fired in a batch by the test clock, each at its due time);
 * the others are evaluated at `now`.
 */
export type ContactsChanged = (tx: Tx, workspaceId: string, contactIds: string[], now: Date, at?: Map<string, Date>) => Promise<void>;

export interface SegmentMaintainer {
  /**
   * In the ingestion transaction: keeps the behavioural attributes, then re-evaluates the events' contacts, with
   * the segments and tracked types the ingestion's configuration read found (crm/ingest-config.ts).
   */
  onEvents(tx: Tx, workspaceId: string, events: IngestedEvent[], config: IngestConfig): Promise<void>;
  refresh: ContactsChanged;
  /** After lead-score decay: re-evaluates these contacts only when a segment of the workspace reads `$.score`. */
  refreshScored: ContactsChanged;
  /** Re-evaluates contacts whose time-relative rules are due; returns how many contacts were looked at. */
  fireDue(db: Db, now: Date): Promise<number>;
  /**
   * Test clock: fires the next batch of wake-ups due by `limit` (at most 1,000, earliest first), each contact
   * evaluated at its own due time; `setClock` moves the clock forward to the batch's last due time first and returns the clock's time. Returns the count.
   */
  fireDueBatch(db: Db, limit: Date, setClock: (to: Date) => Date): Promise<number>;
  /** Evaluates the workspace's segments over every contact, in chunks of 1,000 contacts (each its own transaction). */
  rebuild(db: Db, workspaceId: string, now: () => Date): Promise<void>;
  /**
   * The background job after a create or a rule change: one full pass (unless an earlier pass already covered
   * this rule version), then every segment whose rule version is covered by the pass is marked evaluated.
   */
  evaluate(db: Db, job: { w: string; s: string; v: number }, now: () => Date): Promise<void>;
  /** RFM and churn risk over the workspace's customers; segments reading them follow in the same transactions. */
  recomputeScores(db: Db, workspaceId: string, now: Date): Promise<{ customers: number; window_shoppers: number }>;
}

const compiled = new Map<string, CompiledSegment>();
const CHUNK = 1000;

/** A workspace's segments, compiled once per rule version and shared by every batch of this process. */
export async function loadSegments(q: Db | Tx, workspaceId: string): Promise<CompiledSegment[]> {
  const { rows } = await prepared(q, `SELECT id, key, rule, updated_at FROM segments WHERE workspace_id = ? ORDER BY id`, [workspaceId]);
  return compileSegments(rows as SegmentRow[]);
}

/** Segment rows (in id order) compiled, each once per rule version. */
function compileSegments(rows: SegmentRow[]): CompiledSegment[] {
  return rows.map((r) => {
    const k = `${r.id}:${r.updated_at.getTime()}`;
    let c = compiled.get(k);
    if (!c) {
      if (compiled.size > 10_000) compiled.clear();
      compiled.set(k, (c = compileSegment(r)));
    }
    return c;
  });
}

/**
 * The contact as segment rules see it: the `contact` fact of a flow condition, plus `rfm` (`{ r, f, m, group }`)
 * and `churn_risk` (0–100) when the workspace's scores were computed.
 */
export function contactFact(row: ContactRow, scores?: { rfm: Record<string, unknown> | null; churn: { score: number } | null }): Record<string, unknown> {
  return {
    id: row.id, external_id: row.external_id, email: row.email, properties: row.properties, tags: row.tags, score: row.score,
    owner_id: row.owner_id, lifecycle_stage: row.lifecycle_stage, timezone: row.timezone,
    ...(scores ? { rfm: scores.rfm, churn_risk: scores.churn?.score ?? null } : {}),
  };
}

/**
 * Segment maintenance. `emitHook` is what the flow engine runs for new events (it starts `trigger.segment` runs):
 * `segment.entered` / `segment.exited` go through the one ingestion path with it, in the same transaction.
 */
export function createSegmentMaintainer(deps: { emitHook?: OnEventsIngested; clock: NowSource }): SegmentMaintainer {
  const emitHooks = { onEventsIngested: deps.emitHook };

  /**
   * `refresh`, where `only` may narrow the segments evaluated for some contacts (those an event reached only through
   * the activity of its type): their other memberships keep their state, their wake-up still covers every segment.
   */
  const evaluateContacts = async (
    tx: Tx, workspaceId: string, contactIds: string[], now: Date, at?: Map<string, Date>, only?: Map<string, Set<string>>,
    loaded?: CompiledSegment[],
  ): Promise<void> => {
    if (contactIds.length === 0) return;
    const segments = loaded ?? await loadSegments(tx, workspaceId);
    if (segments.length === 0) return;
    const ids = [...new Set(contactIds)];
    const contacts = (await tx.raw(
      `SELECT ${CONTACT_COLUMNS.join(', ')} FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) AND erased_at IS NULL`,
      [workspaceId, ids],
    )).rows as ContactRow[];
    const live = contacts.map((c) => c.id);
    const timeOf = (id: string) => at?.get(id) ?? now;
    let earliest = now;
    for (const t of at?.values() ?? []) if (t < earliest) earliest = t;
    const [activity, current] = [
      await loadActivity(tx, workspaceId, live, mergeNeeds(segments, earliest)),
      await tx.raw(`SELECT segment_id, contact_id FROM segment_members WHERE workspace_id = ? AND contact_id = ANY(?::uuid[])`, [workspaceId, live]),
    ];
    const evaluates = (contactId: string, segmentId: string) => only?.get(contactId)?.has(segmentId) ?? true;
    const readsScores = segments.some((s) => s.readsScores && live.some((c) => evaluates(c, s.id)));
    const scores = readsScores ? await loadScores(tx, workspaceId, live) : null;
    const memberOf = new Map<string, Set<string>>();
    for (const r of current.rows as { segment_id: string; contact_id: string }[]) {
      const set = memberOf.get(r.contact_id) ?? new Set<string>();
      set.add(r.segment_id);
      memberOf.set(r.contact_id, set);
    }
    const timeDependent = segments.filter((seg) => seg.timeDependent);
    const enter: { s: string; c: string; t: Date }[] = [];
    const exit: { s: string; c: string; t: Date }[] = [];
    const wakes: { c: string; at: Date }[] = [];
    const noWake: string[] = [];
    for (const row of contacts) {
      const facts = { contact: contactFact(row, scores?.get(row.id)), activity: activity.get(row.id) };
      const t = timeOf(row.id);
      const was = memberOf.get(row.id);
      for (const seg of segments) {
        if (!evaluates(row.id, seg.id)) continue;
        const is = seg.matches(facts, t);
        const had = was?.has(seg.id) ?? false;
        if (is && !had) enter.push({ s: seg.id, c: row.id, t });
        else if (!is && had) exit.push({ s: seg.id, c: row.id, t });
      }
      let wake: Date | null = null;
      for (const seg of timeDependent) {
        const flip = seg.nextFlip(facts, t);
        if (flip && (wake === null || flip < wake)) wake = flip;
      }
      if (wake) wakes.push({ c: row.id, at: wake });
      else noWake.push(row.id);
    }
    // Without a time-dependent rule there is nothing to schedule (a wake-up left by an older rule fires once, harmlessly).
    if (timeDependent.length > 0) await writeWakeups(tx, workspaceId, wakes, noWake);
    if (enter.length === 0 && exit.length === 0) return;
    // The contact row locks make this the only writer of these memberships; the key guards the rest.
    const entered = enter.length === 0 ? [] : (await tx.raw(
      `INSERT INTO segment_members (workspace_id, segment_id, contact_id, entered_at)
       SELECT ?, s, c, t FROM unnest(?::uuid[], ?::uuid[], ?::timestamptz[]) AS u(s, c, t) ORDER BY s, c
       ON CONFLICT DO NOTHING RETURNING segment_id, contact_id`,
      [workspaceId, enter.map((e) => e.s), enter.map((e) => e.c), enter.map((e) => e.t.toISOString())],
    )).rows as { segment_id: string; contact_id: string }[];
    const exited = exit.length === 0 ? [] : (await tx.raw(
      `DELETE FROM segment_members m USING unnest(?::uuid[], ?::uuid[]) AS u(s, c)
        WHERE m.workspace_id = ? AND m.segment_id = u.s AND m.contact_id = u.c RETURNING m.segment_id, m.contact_id`,
      [exit.map((e) => e.s), exit.map((e) => e.c), workspaceId],
    )).rows as { segment_id: string; contact_id: string }[];
    await countTransitions(tx, workspaceId, entered.map((r) => ({ s: r.segment_id, t: timeOf(r.contact_id) })), exited.map((r) => ({ s: r.segment_id, t: timeOf(r.contact_id) })));
    const keyOf = new Map(segments.map((s) => [s.id, s.key]));
    const transition = (type: string, r: { segment_id: string; contact_id: string }) => ({
      type, contact: {}, contactId: r.contact_id, properties: { segment: keyOf.get(r.segment_id)! }, source: 'segment',
      ...(at?.has(r.contact_id) ? { occurred_at: at.get(r.contact_id)!.toISOString() } : {}),
    });
    const events = [...entered.map((r) => transition('segment.entered', r)), ...exited.map((r) => transition('segment.exited', r))];
    if (events.length > 0) await ingestEvents(tx, workspaceId, events, emitHooks, { now });
  };
  const refresh: ContactsChanged = (tx, workspaceId, contactIds, now, at) => evaluateContacts(tx, workspaceId, contactIds, now, at);

  /** Re-evaluates these contacts in chunks, each chunk in its own transaction with the contacts locked in id order. */
  const refreshContacts = async (db: Db, workspaceId: string, ids: string[], now: Date) => {
    for (let i = 0; i < ids.length; i += CHUNK) {
      await withTx(db, async (tx) => {
        const locked = (await tx.raw(
          `SELECT id FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR UPDATE`, [workspaceId, ids.slice(i, i + CHUNK)],
        )).rows as { id: string }[];
        await refresh(tx, workspaceId, locked.map((r) => r.id), now);
      });
    }
  };

  /**
   * Fires up to CHUNK wake-ups due by `limit`, earliest first, per workspace in one transaction. Under the system
   * clock (`setClock` null) contacts are evaluated at `limit` (now); the test clock evaluates each at its due time.
   */
  const fireWakeups = async (db: Db, limit: Date, setClock: ((to: Date) => Date) | null): Promise<number> => {
    const { rows } = await db.raw(
      `SELECT workspace_id, contact_id, wake_at FROM segment_wakeups WHERE wake_at <= ? ORDER BY wake_at LIMIT ?`, [limit, CHUNK],
    );
    const due = rows as { workspace_id: string; contact_id: string; wake_at: Date }[];
    if (due.length === 0) return 0;
    const now = setClock ? setClock(due[due.length - 1]!.wake_at) : limit;
    const byWorkspace = new Map<string, Map<string, Date>>();
    for (const r of due) {
      const m = byWorkspace.get(r.workspace_id) ?? new Map<string, Date>();
      m.set(r.contact_id, r.wake_at);
      byWorkspace.set(r.workspace_id, m);
    }
    for (const [workspaceId, times] of byWorkspace) {
      await withTx(db, async (tx) => {
        // Contact locks first (as ingestion takes them), then the wake-ups: no lock-order cycle with ingestion.
        const locked = (await tx.raw(
          `SELECT id FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR UPDATE`, [workspaceId, [...times.keys()].sort()],
        )).rows as { id: string }[];
        await tx.raw(`DELETE FROM segment_wakeups WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) AND wake_at <= ?`, [workspaceId, [...times.keys()], now]);
        await refresh(tx, workspaceId, locked.map((r) => r.id), now, setClock ? times : undefined);
      });
    }
    return due.length;
  };

  // Only segments that read `$.rfm` / `$.churn_risk` care about new scores, and only for the contacts whose scores changed.
  const recompute = async (db: Db, workspaceId: string, now: Date) => {
    const readsScores = (await loadSegments(db, workspaceId)).some((s) => s.readsScores);
    return recomputeScores(db, workspaceId, now, {
      hooks: emitHooks,
      refresh: readsScores ? (ids) => refreshContacts(db, workspaceId, ids, now) : undefined,
    });
  };

  const maintainer: SegmentMaintainer = {
    refresh,
    async refreshScored(tx, workspaceId, ids, now) {
      if ((await loadSegments(tx, workspaceId)).some((s) => s.readsLeadScore)) await refresh(tx, workspaceId, ids, now);
    },
    async onEvents(tx, workspaceId, events, config) {
      // Transition events are membership bookkeeping, not behaviour: they are neither counted in the attributes
      // (that doubled the writes of every transition) nor evaluated again.
      const behaviour = events.filter(isBehaviour);
      await recordActivity(tx, workspaceId, behaviour, config.tracked);
      const segments = compileSegments(config.segments);
      if (segments.length === 0) return;
      // An event can change a contact's segments through the contact (properties, a new contact; the lead score,
      // which scoring may have moved in this transaction): all its segments are evaluated. Or only through the
      // activity of its type: then only the segments that read that type. Neither: skipped.
      const now = deps.clock.now();
      const anyScore = segments.some((s) => s.readsLeadScore);
      const readers = new Map<string, string[]>();
      for (const seg of segments) for (const t of seg.needs(now).types) readers.set(t, [...(readers.get(t) ?? []), seg.id]);
      const all = new Set<string>();
      const some = new Map<string, Set<string>>();
      for (const e of behaviour) {
        if (anyScore || e.contactUnchanged !== true) all.add(e.contactId);
        else for (const id of readers.get(e.type) ?? []) some.set(e.contactId, (some.get(e.contactId) ?? new Set<string>()).add(id));
      }
      for (const id of all) some.delete(id);
      await evaluateContacts(tx, workspaceId, [...all, ...some.keys()], now, undefined, some.size > 0 ? some : undefined, segments);
    },
    recomputeScores: (db, workspaceId, now) => recompute(db, workspaceId, now),
    async fireDue(db, now) {
      let total = 0;
      for (const workspaceId of await staleScoreWorkspaces(db, now)) {
        await recompute(db, workspaceId, now);
        total++;
      }
      for (;;) {
        const n = await fireWakeups(db, now, null);
        total += n;
        if (n < CHUNK) return total;
      }
    },
    fireDueBatch: (db, limit, setClock) => fireWakeups(db, limit, setClock),
    async evaluate(db, job, now) {
      const target = await db('segments').where({ workspace_id: job.w, id: job.s }).first<{ evaluated_version: number } | undefined>('evaluated_version');
      if (!target || target.evaluated_version >= job.v) return;
      // Rule versions as the pass starts: each chunk compiles the rules current at that chunk, so these versions
      // (or newer ones) are evaluated for every contact by the end of the pass.
      const before = (await db('segments').where({ workspace_id: job.w }).select<{ id: string; rule_version: number }[]>('id', 'rule_version'));
      await maintainer.rebuild(db, job.w, now);
      await db.raw(
        `UPDATE segments s SET evaluated_version = greatest(s.evaluated_version, u.v)
           FROM unnest(?::uuid[], ?::int[]) AS u(id, v) WHERE s.workspace_id = ? AND s.id = u.id`,
        [before.map((r) => r.id), before.map((r) => r.rule_version), job.w],
      );
    },
    async rebuild(db, workspaceId, now) {
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const last = await withTx(db, async (tx) => {
          const { rows } = await tx.raw(
            `SELECT id FROM contacts WHERE workspace_id = ? AND id > ? AND erased_at IS NULL ORDER BY id LIMIT ? FOR UPDATE`,
            [workspaceId, after, CHUNK],
          );
          const ids = (rows as { id: string }[]).map((r) => r.id);
          await refresh(tx, workspaceId, ids, now());
          return ids.length === CHUNK ? ids[ids.length - 1]! : null;
        });
        if (last === null) return;
        after = last;
      }
    },
  };
  return maintainer;
}

async function writeWakeups(tx: Tx, workspaceId: string, wakes: { c: string; at: Date }[], none: string[]): Promise<void> {
  if (wakes.length > 0) {
    wakes.sort((a, b) => (a.c < b.c ? -1 : 1));
    await tx.raw(
      `INSERT INTO segment_wakeups AS w (workspace_id, contact_id, wake_at) SELECT ?, c, t FROM unnest(?::uuid[], ?::timestamptz[]) AS u(c, t)
       ON CONFLICT (workspace_id, contact_id) DO UPDATE SET wake_at = EXCLUDED.wake_at WHERE w.wake_at IS DISTINCT FROM EXCLUDED.wake_at`,
      [workspaceId, wakes.map((w) => w.c), wakes.map((w) => w.at.toISOString())],
    );
  }
  if (none.length > 0) await tx.raw(`DELETE FROM segment_wakeups WHERE workspace_id = ? AND contact_id = ANY(?::uuid[])`, [workspaceId, none]);
}

/** Counter shards per segment and day: concurrent transactions mostly write different rows. */
const COUNT_SHARDS = 8;

/**
 * One upsert per batch: entered/exited per segment and UTC day of the transition (the member count and the size
 * history), into this transaction's shard (its backend's). Exact: the count is the sum over every shard, and the
 * rows are written in the transaction that changes the memberships.
 */
async function countTransitions(tx: Tx, workspaceId: string, entered: { s: string; t: Date }[], exited: { s: string; t: Date }[]): Promise<void> {
  const delta = new Map<string, { s: string; d: string; e: number; x: number }>();
  const add = (r: { s: string; t: Date }, e: number, x: number) => {
    const d = utcDay(r.t);
    const k = `${r.s}:${d}`;
    const cur = delta.get(k) ?? { s: r.s, d, e: 0, x: 0 };
    cur.e += e;
    cur.x += x;
    delta.set(k, cur);
  };
  entered.forEach((r) => add(r, 1, 0));
  exited.forEach((r) => add(r, 0, 1));
  if (delta.size === 0) return;
  // Sorted, so concurrent batches that share a shard take the counter rows' locks in the same order.
  const rows = [...delta.values()].sort((a, b) => (a.s === b.s ? (a.d < b.d ? -1 : 1) : a.s < b.s ? -1 : 1));
  await tx.raw(
    `INSERT INTO segment_daily AS d (workspace_id, segment_id, day, shard, entered, exited)
     SELECT ?, s, d, pg_backend_pid() % ${COUNT_SHARDS}, e, x FROM unnest(?::uuid[], ?::date[], ?::int[], ?::int[]) AS u(s, d, e, x)
     ON CONFLICT (workspace_id, segment_id, day, shard) DO UPDATE SET entered = d.entered + EXCLUDED.entered, exited = d.exited + EXCLUDED.exited`,
    [workspaceId, rows.map((r) => r.s), rows.map((r) => r.d), rows.map((r) => r.e), rows.map((r) => r.x)],
  );
}

/** Erasure removes the contact's memberships (counted as exits, without an event) and its attributes. */
registerErasureStep(async (tx, workspaceId, contactId, now) => {
  const { rows } = await tx.raw(`DELETE FROM segment_members WHERE workspace_id = ? AND contact_id = ? RETURNING segment_id`, [workspaceId, contactId]);
  await countTransitions(tx, workspaceId, [], (rows as { segment_id: string }[]).map((r) => ({ s: r.segment_id, t: now })));
  await tx.raw(`DELETE FROM segment_wakeups WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  await eraseActivity(tx, workspaceId, contactId);
  await eraseScores(tx, workspaceId, contactId);
});
