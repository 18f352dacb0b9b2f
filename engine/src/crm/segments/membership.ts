import type { Db, Tx } from '../../db/index.ts';
import { withTx } from '../../db/index.ts';
import { CONTACT_COLUMNS, type ContactRow } from '../contacts.ts';
import { registerErasureStep } from '../erasure.ts';
import type { OnEventsIngested } from '../event-hooks.ts';
import type { NowSource } from '../../rules/index.ts';
import { ingestEvents } from '../events.ts';
import { eraseActivity, loadActivity, recordActivity, utcDay } from './activity.ts';
import { compileSegment, mergeNeeds, type CompiledSegment } from './rule.ts';
import { eraseScores, loadScores, recomputeScores, staleScoreWorkspaces } from './scores.ts';

/** Re-evaluates the segments of these contacts (their rows locked by `tx`) and records every transition. */
export type ContactsChanged = (tx: Tx, workspaceId: string, contactIds: string[], now: Date) => Promise<void>;

export interface SegmentMaintainer {
  /** In the ingestion transaction: keeps the behavioural attributes, then re-evaluates the events' contacts. */
  onEvents: OnEventsIngested;
  refresh: ContactsChanged;
  /** Re-evaluates contacts whose time-relative rules are due; returns how many contacts were looked at. */
  fireDue(db: Db, now: Date): Promise<number>;
  /** Evaluates one segment over every contact of the workspace, in chunks (after a create or a rule change). */
  rebuild(db: Db, workspaceId: string, now: () => Date): Promise<void>;
  /** RFM and churn risk over the workspace's customers; segments reading them follow in the same transactions. */
  recomputeScores(db: Db, workspaceId: string, now: Date): Promise<{ customers: number; window_shoppers: number }>;
}

const compiled = new Map<string, CompiledSegment>();
const CHUNK = 1000;

/** A workspace's segments, compiled once per rule version and shared by every batch of this process. */
export async function loadSegments(q: Db | Tx, workspaceId: string): Promise<CompiledSegment[]> {
  const { rows } = await q.raw(`SELECT id, key, rule, updated_at FROM segments WHERE workspace_id = ? ORDER BY id`, [workspaceId]);
  return (rows as { id: string; key: string; rule: unknown; updated_at: Date }[]).map((r) => {
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

  const refresh: ContactsChanged = async (tx, workspaceId, contactIds, now) => {
    if (contactIds.length === 0) return;
    const segments = await loadSegments(tx, workspaceId);
    if (segments.length === 0) return;
    const ids = [...new Set(contactIds)];
    const contacts = (await tx.raw(
      `SELECT ${CONTACT_COLUMNS.join(', ')} FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) AND erased_at IS NULL`,
      [workspaceId, ids],
    )).rows as ContactRow[];
    const live = contacts.map((c) => c.id);
    const [activity, current] = [
      await loadActivity(tx, workspaceId, live, mergeNeeds(segments, now)),
      await tx.raw(`SELECT segment_id, contact_id FROM segment_members WHERE workspace_id = ? AND contact_id = ANY(?::uuid[])`, [workspaceId, live]),
    ];
    const scores = segments.some((s) => s.readsScores) ? await loadScores(tx, workspaceId, live) : null;
    const isMember = new Set((current.rows as { segment_id: string; contact_id: string }[]).map((r) => `${r.segment_id}:${r.contact_id}`));
    const enter: { s: string; c: string }[] = [];
    const exit: { s: string; c: string }[] = [];
    const wakes: { c: string; at: Date }[] = [];
    const noWake: string[] = [];
    for (const row of contacts) {
      const facts = { contact: contactFact(row, scores?.get(row.id)), activity: activity.get(row.id) };
      let wake: Date | null = null;
      for (const seg of segments) {
        const now_ = seg.matches(facts, now);
        const was = isMember.has(`${seg.id}:${row.id}`);
        if (now_ && !was) enter.push({ s: seg.id, c: row.id });
        else if (!now_ && was) exit.push({ s: seg.id, c: row.id });
        const flip = seg.nextFlip(facts, now);
        if (flip && (wake === null || flip < wake)) wake = flip;
      }
      if (wake) wakes.push({ c: row.id, at: wake });
      else noWake.push(row.id);
    }
    await writeWakeups(tx, workspaceId, wakes, noWake);
    if (enter.length === 0 && exit.length === 0) return;
    // The contact row locks make this the only writer of these memberships; the key guards the rest.
    const entered = enter.length === 0 ? [] : (await tx.raw(
      `INSERT INTO segment_members (workspace_id, segment_id, contact_id, entered_at)
       SELECT ?, s, c, ? FROM unnest(?::uuid[], ?::uuid[]) AS u(s, c) ORDER BY s, c
       ON CONFLICT DO NOTHING RETURNING segment_id, contact_id`,
      [workspaceId, now, enter.map((e) => e.s), enter.map((e) => e.c)],
    )).rows as { segment_id: string; contact_id: string }[];
    const exited = exit.length === 0 ? [] : (await tx.raw(
      `DELETE FROM segment_members m USING unnest(?::uuid[], ?::uuid[]) AS u(s, c)
        WHERE m.workspace_id = ? AND m.segment_id = u.s AND m.contact_id = u.c RETURNING m.segment_id, m.contact_id`,
      [exit.map((e) => e.s), exit.map((e) => e.c), workspaceId],
    )).rows as { segment_id: string; contact_id: string }[];
    await countTransitions(tx, workspaceId, now, entered.map((r) => r.segment_id), exited.map((r) => r.segment_id));
    const keyOf = new Map(segments.map((s) => [s.id, s.key]));
    const events = [
      ...entered.map((r) => ({ type: 'segment.entered', contact: {}, contactId: r.contact_id, properties: { segment: keyOf.get(r.segment_id)! }, source: 'segment' })),
      ...exited.map((r) => ({ type: 'segment.exited', contact: {}, contactId: r.contact_id, properties: { segment: keyOf.get(r.segment_id)! }, source: 'segment' })),
    ];
    if (events.length > 0) await ingestEvents(tx, workspaceId, events, emitHooks, { now });
  };

  return {
    refresh,
    async onEvents(tx, workspaceId, events) {
      await recordActivity(tx, workspaceId, events);
      // Transition events change no membership: they are not evaluated again.
      const ids = events.filter((e) => e.type !== 'segment.entered' && e.type !== 'segment.exited').map((e) => e.contactId);
      await refresh(tx, workspaceId, ids, deps.clock.now());
    },
    recomputeScores: (db, workspaceId, now) => recomputeScores(db, workspaceId, now, { hooks: emitHooks, afterChunk: refresh }),
    async fireDue(db, now) {
      let total = 0;
      for (const workspaceId of await staleScoreWorkspaces(db, now)) {
        await recomputeScores(db, workspaceId, now, { hooks: emitHooks, afterChunk: refresh });
        total++;
      }
      for (;;) {
        const { rows } = await db.raw(
          `SELECT workspace_id, contact_id FROM segment_wakeups WHERE wake_at <= ? ORDER BY wake_at LIMIT ?`, [now, CHUNK],
        );
        const due = rows as { workspace_id: string; contact_id: string }[];
        if (due.length === 0) return total;
        const byWorkspace = new Map<string, string[]>();
        for (const r of due) byWorkspace.set(r.workspace_id, [...(byWorkspace.get(r.workspace_id) ?? []), r.contact_id]);
        for (const [workspaceId, ids] of byWorkspace) {
          await withTx(db, async (tx) => {
            // Contact locks first (as ingestion takes them), then the wake-ups: no lock-order cycle with ingestion.
            const locked = (await tx.raw(
              `SELECT id FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR UPDATE`, [workspaceId, ids.sort()],
            )).rows as { id: string }[];
            await tx.raw(`DELETE FROM segment_wakeups WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) AND wake_at <= ?`, [workspaceId, ids, now]);
            await refresh(tx, workspaceId, locked.map((r) => r.id), now);
          });
        }
        total += due.length;
        if (due.length < CHUNK) return total;
      }
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

/** One upsert per batch: today's entered/exited per segment (the member count and the size history). */
async function countTransitions(tx: Tx, workspaceId: string, now: Date, entered: string[], exited: string[]): Promise<void> {
  const delta = new Map<string, { e: number; x: number }>();
  for (const s of entered) delta.set(s, { e: (delta.get(s)?.e ?? 0) + 1, x: delta.get(s)?.x ?? 0 });
  for (const s of exited) delta.set(s, { e: delta.get(s)?.e ?? 0, x: (delta.get(s)?.x ?? 0) + 1 });
  if (delta.size === 0) return;
  const ids = [...delta.keys()].sort();
  await tx.raw(
    `INSERT INTO segment_daily AS d (workspace_id, segment_id, day, entered, exited)
     SELECT ?, s, ?::date, e, x FROM unnest(?::uuid[], ?::int[], ?::int[]) AS u(s, e, x)
     ON CONFLICT (workspace_id, segment_id, day) DO UPDATE SET entered = d.entered + EXCLUDED.entered, exited = d.exited + EXCLUDED.exited`,
    [workspaceId, utcDay(now), ids, ids.map((s) => delta.get(s)!.e), ids.map((s) => delta.get(s)!.x)],
  );
}

/** Erasure removes the contact's memberships (counted as exits, without an event) and its attributes. */
registerErasureStep(async (tx, workspaceId, contactId, now) => {
  const { rows } = await tx.raw(`DELETE FROM segment_members WHERE workspace_id = ? AND contact_id = ? RETURNING segment_id`, [workspaceId, contactId]);
  await countTransitions(tx, workspaceId, now, [], (rows as { segment_id: string }[]).map((r) => r.segment_id));
  await tx.raw(`DELETE FROM segment_wakeups WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  await eraseActivity(tx, workspaceId, contactId);
  await eraseScores(tx, workspaceId, contactId);
});
