import { unawaited, type Tx } from '../../../db/index.ts';
import { newId } from '../../../db/ids.ts';
import type { IngestedEvent } from '../../../crm/event-hooks.ts';
import type { Enroller } from '../../ports.ts';
import { activityReader, flowActivityNeeds, loadActivity } from '../../../crm/segments/activity.ts';
import type { Clock } from '../../../time/clock.ts';
import type { Logger } from '../../../logger.ts';
import type { FlowCache } from '../flows/flow-cache.ts';
import { StatsDelta } from '../../stats.ts';
import { statsShard, writeStats } from './store.ts';
import { ADMIT_EXCLUSIVE, OPEN_RUNS } from './exclusive.ts';
import { contactsJobSql } from '../../../queue/jobs.ts';

interface NewRun {
  id: string;
  flowId: string;
  version: number;
  contactId: string;
  triggerNodeId: string;
  exclusive: boolean;
  event: IngestedEvent;
}

/**
 * The ingestion hook: inside the transaction that wrote the events, start the runs they trigger and enqueue one
 * job for every contact that now has work (new runs, or open runs that may react to the events). Re-entry rules
 * are enforced under the contacts' row locks (exclusive.ts) and by flow_enrollments' key, so 20 identical events
 * arriving at once still start the right number of runs.
 */
export function createEnrollment(deps: { flows: FlowCache; clock: Clock; logger: Logger }): Enroller {
  return async (tx, workspaceId, events, triggers) => {
    const failed = new TriggerFailures();
    if (events.length === 0) return;
    const now = deps.clock.now();
    let candidates: NewRun[] = [];
    if (triggers.length > 0) {
      await deps.flows.ensure(tx, workspaceId, triggers.map((t) => ({ flowId: t.flow_id, version: t.version })));
      const byType = new Map<string, { flow_id: string; version: number }[]>();
      for (const t of triggers) {
        byType.set(t.event_type, [...(byType.get(t.event_type) ?? []), t]);
      }
      const contactFacts = await loadContactsIfNeeded(tx, workspaceId, events, triggers, deps.flows);
      const activityOf = await loadActivityIfNeeded(tx, workspaceId, events, triggers, deps.flows, now);
      for (const ev of events) {
        for (const t of byType.get(ev.type) ?? []) {
          const flow = deps.flows.get(t.flow_id, t.version)!;
          if (flow.trigger.test) {
            const facts = { contact: contactFacts.get(ev.contactId) ?? {}, event: { id: ev.id, type: ev.type, properties: ev.properties, occurred_at: ev.occurredAt.toISOString() }, run: {}, activity: activityOf?.(ev.contactId) };
            try {
              if (!flow.trigger.test(facts, now)) continue;
            } catch (err) {
              // One flow's `when` failing on this event (e.g. json-rules-engine rejecting a comparison) must not
              // fail the event, nor the other events committed with it: that flow skips it, and the failure is
              // counted on its trigger node and logged.
              failed.add(flow, ev, err);
              continue;
            }
          }
          candidates.push({
            id: newId(now.getTime()),
            flowId: flow.flowId,
            version: flow.version,
            contactId: ev.contactId,
            triggerNodeId: flow.trigger.id,
            exclusive: flow.reentry !== 'always',
            event: ev,
          });
        }
      }
      candidates = await applyNeverReentry(tx, workspaceId, candidates, (c) => deps.flows.get(c.flowId, c.version)!.reentry === 'never');
    }
    await insertRunsAndEnqueue(tx, workspaceId, candidates, events, now);
    if (!failed.stats.empty) {
      await writeStats(tx, failed.stats);
      failed.log(deps.logger, workspaceId);
    }
  };
}

/** Trigger conditions that threw during one ingestion: counted as `failed` on the trigger node, logged per flow. */
class TriggerFailures {
  readonly stats = new StatsDelta();
  private readonly byFlow = new Map<string, { flowId: string; version: number; nodeId: string; count: number; eventId: string; message: string }>();

  add(flow: { flowId: string; version: number; workspaceId: string; trigger: { id: string } }, ev: IngestedEvent, err: unknown): void {
    this.stats.node(flow.workspaceId, flow.flowId, flow.version, flow.trigger.id, 'failed');
    const key = `${flow.flowId}:${flow.version}`;
    const seen = this.byFlow.get(key);
    if (seen) seen.count++;
    else this.byFlow.set(key, { flowId: flow.flowId, version: flow.version, nodeId: flow.trigger.id, count: 1, eventId: ev.id, message: (err as Error)?.message ?? String(err) });
  }

  log(logger: Logger, workspaceId: string): void {
    for (const f of this.byFlow.values()) {
      logger.warn(
        { workspaceId, flowId: f.flowId, version: f.version, nodeId: f.nodeId, events: f.count, eventId: f.eventId, err: f.message },
        'trigger condition failed; the flow skipped these events (they are stored)',
      );
    }
  }
}

/** Only when some triggered flow has a `when` condition: that condition may look at the contact. */
async function loadContactsIfNeeded(tx: Tx, workspaceId: string, events: IngestedEvent[], triggers: { flow_id: string; version: number }[], flows: FlowCache) {
  const facts = new Map<string, Record<string, unknown>>();
  if (!triggers.some((t) => flows.get(t.flow_id, t.version)?.trigger.test)) return facts;
  const { rows } = await tx.raw(
    `SELECT id, external_id, email, properties, tags, score, owner_id, lifecycle_stage, timezone FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[])`,
    [workspaceId, [...new Set(events.map((e) => e.contactId))]],
  );
  for (const r of rows as { id: string }[]) facts.set(r.id, r);
  return facts;
}

/** The `activity` fact for trigger `when` rules that read it; the batch's own events are already counted (recorded first). */
async function loadActivityIfNeeded(tx: Tx, workspaceId: string, events: IngestedEvent[], triggers: { flow_id: string; version: number }[], flows: FlowCache, now: Date) {
  const reading = [...new Set(triggers.map((t) => flows.get(t.flow_id, t.version)!))].filter((f) => f.activity.types.length > 0).map((f) => f.activity);
  if (reading.length === 0) return undefined;
  const activity = await loadActivity(tx, workspaceId, [...new Set(events.map((e) => e.contactId))], flowActivityNeeds(reading, now));
  return (contactId: string) => activityReader(activity.get(contactId), now);
}

/** `reentry: never`: a contact enters once ever. The enrollment row is the proof; its primary key settles races. */
async function applyNeverReentry(tx: Tx, workspaceId: string, candidates: NewRun[], isNever: (c: NewRun) => boolean): Promise<NewRun[]> {
  const never = candidates.filter(isNever);
  if (never.length === 0) return candidates;
  const { rows } = await tx.raw(
    `INSERT INTO flow_enrollments (workspace_id, flow_id, contact_id)
     SELECT ?, f, c FROM unnest(?::uuid[], ?::uuid[]) AS u(f, c) ON CONFLICT DO NOTHING RETURNING flow_id, contact_id`,
    [workspaceId, never.map((c) => c.flowId), never.map((c) => c.contactId)],
  );
  const admitted = new Set((rows as { flow_id: string; contact_id: string }[]).map((r) => `${r.flow_id}:${r.contact_id}`));
  return candidates.filter((c) => {
    if (!isNever(c)) return true;
    const key = `${c.flowId}:${c.contactId}`;
    if (!admitted.has(key)) return false;
    admitted.delete(key); // the first event of the batch takes the one entry
    return true;
  });
}

/**
 * One round trip: read the events' contacts' open runs once (exclusive.ts), insert the runs (exclusive ones skip
 * quietly when the contact already has an open run of that flow), then enqueue one job for the contacts that have
 * open runs, new or old.
 */
async function insertRunsAndEnqueue(tx: Tx, workspaceId: string, runs: NewRun[], events: IngestedEvent[], now: Date): Promise<void> {
  const contactIds = [...new Set(events.map((e) => e.contactId))];
  // Usually ingestion's last statement: on its pipelined connection COMMIT goes right behind it.
  await unawaited(tx,
    `WITH u AS (
       SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::int[], ?::uuid[], ?::text[], ?::boolean[], ?::uuid[], ?::bigint[]) WITH ORDINALITY
         AS u(id, flow_id, version, contact_id, node_id, exclusive, event_id, seq, ord)
     ), open AS MATERIALIZED (
       ${OPEN_RUNS}
     ), admitted AS (
       ${ADMIT_EXCLUSIVE}
     ), ins AS (
       INSERT INTO runs (id, workspace_id, flow_id, version, contact_id, status, state, node_id, node_entered_at, exclusive,
                         trigger_event_id, since_seq, started_at, updated_at)
       SELECT id, ?, flow_id, version, contact_id, 'active', 'ready', node_id, ?, exclusive, event_id, seq, ?, ?
         FROM u WHERE NOT exclusive OR id IN (SELECT id FROM admitted)
       RETURNING contact_id, flow_id, version
     ), started AS (
       -- A run counts as started when it is created (it may end, by a goal or exit event, before its first step).
       INSERT INTO flow_stats (workspace_id, flow_id, version, shard, started)
       SELECT ?, flow_id, version, ?, count(*) FROM ins GROUP BY flow_id, version ORDER BY flow_id, version
       ON CONFLICT (workspace_id, flow_id, version, shard) DO UPDATE SET started = flow_stats.started + EXCLUDED.started
     ), busy AS (
       SELECT contact_id FROM ins
       UNION ALL
       SELECT contact_id FROM open
     )
     SELECT ${contactsJobSql('?::text', 'array_agg(DISTINCT contact_id)')}
       FROM busy HAVING count(*) > 0`,
    [
      runs.map((r) => r.id),
      runs.map((r) => r.flowId),
      runs.map((r) => r.version),
      runs.map((r) => r.contactId),
      runs.map((r) => r.triggerNodeId),
      runs.map((r) => r.exclusive),
      runs.map((r) => r.event.id),
      runs.map((r) => r.event.seq),
      workspaceId,
      contactIds,
      workspaceId,
      now,
      now,
      now,
      workspaceId,
      statsShard(),
      workspaceId,
    ],
  );
}
