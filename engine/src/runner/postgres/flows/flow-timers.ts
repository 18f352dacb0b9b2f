import type { Db, Tx } from '../../../db/index.ts';
import { withTx } from '../../../db/index.ts';
import { newId } from '../../../db/ids.ts';
import { resolveDateProperty } from '../../../time/duration.ts';
import type { CompiledFlow } from '../../../flow/compile.ts';
import type { FlowCache } from './flow-cache.ts';
import { StatsDelta } from '../../stats.ts';
import { writeStats } from '../runs/store.ts';
import { ADMIT_EXCLUSIVE, OPEN_RUNS } from '../runs/exclusive.ts';
import { enqueueContacts } from '../../../queue/jobs.ts';
import { zoneOf } from '../../../time/zones.ts';
import { nextCronTime } from '../../../time/schedule.ts';

/**
 * trigger.date looks a day ahead: each run sleeps on its trigger until its exact moment, so precision does not depend
 * on how often the scan runs. It scans twice a day (less than the lookahead, so consecutive windows touch).
 */
const DATE_LOOKAHEAD_MS = 24 * 60 * 60 * 1000;
const DATE_SCAN_EVERY_MS = 12 * 60 * 60 * 1000;
const CHUNK = 2000;

interface TimerRow {
  workspace_id: string;
  flow_id: string;
  version: number;
  kind: 'trigger.schedule' | 'trigger.date';
  next_at: Date;
  scanned_until: Date | null;
}

interface Candidate { contactId: string; fireAt: Date }

/**
 * Fires every clock trigger that is due: a cron schedule enrolls the workspace's contacts; a date trigger enrolls the
 * contacts whose date (property + offset, at a time of day in their timezone) falls in the next window, each run
 * sleeping on its trigger until that exact moment. One flow per transaction, SKIP LOCKED across processes.
 */
export async function fireDueFlowTimers(db: Db, flows: FlowCache, now: Date): Promise<number> {
  let fired = 0;
  for (;;) {
    const did = await withTx(db, async (tx) => {
      const { rows } = await tx.raw(`SELECT * FROM flow_timers WHERE next_at <= ? ORDER BY next_at LIMIT 1 FOR UPDATE SKIP LOCKED`, [now]);
      const timer = rows[0] as TimerRow | undefined;
      if (!timer) return false;
      await flows.ensure(tx, timer.workspace_id, [{ flowId: timer.flow_id, version: timer.version }]);
      const flow = flows.get(timer.flow_id, timer.version)!;
      const trigger = flow.trigger;
      if (trigger.type === 'trigger.schedule') {
        const config = trigger.config;
        const contacts = config.segment
          ? await tx.raw(
            `SELECT m.contact_id AS id FROM segments s JOIN segment_members m ON m.workspace_id = s.workspace_id AND m.segment_id = s.id
              WHERE s.workspace_id = ? AND s.key = ? ORDER BY m.contact_id`,
            [timer.workspace_id, config.segment],
          )
          : await tx.raw(`SELECT id FROM contacts WHERE workspace_id = ? AND erased_at IS NULL ORDER BY id`, [timer.workspace_id]);
        await enroll(tx, flow, (contacts.rows as { id: string }[]).map((c) => ({ contactId: c.id, fireAt: timer.next_at })), now);
        // A schedule missed while no engine ran fires once, then carries on from now.
        const after = timer.next_at > now ? timer.next_at : now;
        await tx.raw(`UPDATE flow_timers SET next_at = ? WHERE workspace_id = ? AND flow_id = ?`, [nextCronTime(config.cron, config.timezone ?? 'UTC', after), timer.workspace_id, timer.flow_id]);
      } else if (trigger.type === 'trigger.date') {
        const config = trigger.config;
        const from = timer.scanned_until ?? now;
        const until = new Date(now.getTime() + DATE_LOOKAHEAD_MS);
        const { rows: withDate } = await tx.raw(
          `SELECT id, properties->? AS value, timezone FROM contacts WHERE workspace_id = ? AND erased_at IS NULL AND jsonb_exists(properties, ?)`,
          [config.property, timer.workspace_id, config.property],
        );
        const due: Candidate[] = [];
        for (const c of withDate as { id: string; value: unknown; timezone: string | null }[]) {
          const fireAt = resolveDateProperty(c.value, { offset: config.offset, time: config.at, zone: zoneOf(c.timezone) });
          if (fireAt && fireAt > from && fireAt <= until) due.push({ contactId: c.id, fireAt });
        }
        await enroll(tx, flow, due, now);
        await tx.raw(`UPDATE flow_timers SET next_at = ?, scanned_until = ? WHERE workspace_id = ? AND flow_id = ?`, [new Date(now.getTime() + DATE_SCAN_EVERY_MS), until, timer.workspace_id, timer.flow_id]);
      } else {
        // timer.kind is the version's trigger type (flow/service.ts initialTimer): only clock triggers have timers.
        throw new Error(`flow timer of flow ${timer.flow_id} v${timer.version} belongs to a ${trigger.type} trigger`);
      }
      return true;
    });
    if (!did) return fired;
    fired++;
  }
}

/**
 * Starts runs for contacts of a clock-triggered flow, honouring re-entry like event enrollment does (the flow_timers
 * row lock held by the caller is what serializes it: only this path starts runs of a clock-triggered flow). A run whose
 * moment is still ahead sleeps on its trigger node until then; the others are runnable now.
 */
async function enroll(tx: Tx, flow: CompiledFlow, candidates: Candidate[], now: Date): Promise<void> {
  for (let i = 0; i < candidates.length; i += CHUNK) {
    let chunk = candidates.slice(i, i + CHUNK);
    if (flow.reentry === 'never') {
      const { rows } = await tx.raw(
        `INSERT INTO flow_enrollments (workspace_id, flow_id, contact_id) SELECT ?, ?, c FROM unnest(?::uuid[]) AS c ON CONFLICT DO NOTHING RETURNING contact_id`,
        [flow.workspaceId, flow.flowId, chunk.map((c) => c.contactId)],
      );
      const admitted = new Set((rows as { contact_id: string }[]).map((r) => r.contact_id));
      chunk = chunk.filter((c) => admitted.has(c.contactId));
    }
    if (chunk.length === 0) continue;
    const { rows: seqs } = await tx.raw(
      `SELECT contact_id, max(seq) AS seq FROM events WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) GROUP BY contact_id`,
      [flow.workspaceId, chunk.map((c) => c.contactId)],
    );
    const since = new Map((seqs as { contact_id: string; seq: number }[]).map((r) => [r.contact_id, r.seq]));
    const later = (c: Candidate) => c.fireAt > now;
    const { rows: inserted } = await tx.raw(
      `WITH u AS (
         SELECT u.*, ?::uuid AS flow_id, ?::boolean AS exclusive
           FROM unnest(?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::timestamptz[], ?::bigint[], ?::timestamptz[]) WITH ORDINALITY
             AS u(id, contact_id, status, state, at, since, wake_at, ord)
       ), open AS MATERIALIZED (
         ${OPEN_RUNS}
       ), admitted AS (
         ${ADMIT_EXCLUSIVE}
       )
       INSERT INTO runs (id, workspace_id, flow_id, version, contact_id, status, state, node_id, node_entered_at, exclusive,
                         since_seq, wake_at, started_at, updated_at)
       SELECT u.id, ?, u.flow_id, ?, u.contact_id, u.status, u.state, ?, u.at, u.exclusive, u.since, u.wake_at, u.at, ?
         FROM u WHERE NOT u.exclusive OR u.id IN (SELECT id FROM admitted)
       RETURNING contact_id, state`,
      [
        flow.flowId, flow.reentry !== 'always',
        chunk.map(() => newId(now.getTime())),
        chunk.map((c) => c.contactId),
        chunk.map((c) => (later(c) ? 'waiting' : 'active')),
        chunk.map((c) => (later(c) ? 'sleeping' : 'ready')),
        chunk.map((c) => (later(c) ? c.fireAt : now).toISOString()),
        chunk.map((c) => since.get(c.contactId) ?? 0),
        chunk.map((c) => (later(c) ? c.fireAt.toISOString() : null)),
        flow.workspaceId, chunk.map((c) => c.contactId), flow.workspaceId, flow.version, flow.trigger.id, now,
      ] as never,
    );
    const rows = inserted as { contact_id: string; state: string }[];
    const sleeping = rows.filter((r) => r.state === 'sleeping').length;
    const stats = new StatsDelta();
    stats.flow(flow.workspaceId, flow.flowId, flow.version, 'started', rows.length);
    if (sleeping) stats.node(flow.workspaceId, flow.flowId, flow.version, flow.trigger.id, 'waiting', sleeping);
    await writeStats(tx, stats);
    const ready = rows.filter((r) => r.state === 'ready').map((r) => r.contact_id);
    await enqueueContacts(tx, flow.workspaceId, ready);
  }
}
