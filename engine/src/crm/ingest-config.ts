import { prepared, type Tx } from '../db/index.ts';
import type { IngestedEvent } from './event-hooks.ts';
import { knownTracked, lockActivityShared, activityLockSharedSql, addTracked, TRACKED_LOOKUP, ALL_TYPES } from './segments/activity.ts';

/** A program's row as crm/programs.ts reads it: the scoring model, or a referral or loyalty program's config. */
export interface ProgramRow { kind: 'scoring' | 'referral' | 'loyalty'; config: unknown }
/** A segment's row as crm/segments/membership.ts compiles it. */
export interface SegmentRow { id: string; key: string; rule: unknown; updated_at: Date }

/** A published flow's trigger on one of the events' types (flow_triggers), as enrolment reads it. */
export interface TriggerRow { flow_id: string; version: number; event_type: string }

/**
 * What the ingestion hooks read of a workspace's configuration before they act: its programs (scoring, referrals,
 * loyalty), its segments, which of the events' types have their behavioural attributes kept, and the flows those
 * types trigger. Read in one statement per ingestion (after the activity lock when a type must be looked up), so a
 * workspace with none of them pays one round trip, not one per hook.
 */
export interface IngestConfig {
  programs: ProgramRow[];
  segments: SegmentRow[];
  /** The flow triggers (`trigger.event`, `trigger.segment`) on the events' types, for enrolment. */
  triggers: TriggerRow[];
  /** Tracked types among the behaviour events' types (the lookup's answer, or this process's cache). */
  tracked: Set<string>;
}

/** Transition events are membership bookkeeping, not behaviour: neither counted in the attributes nor evaluated again. */
export const isBehaviour = (e: { type: string }): boolean => e.type !== 'segment.entered' && e.type !== 'segment.exited';

/** Transactions that took a workspace's activity lock with their event insert (activityLockWithInsert). */
const lockedWithInsert = new WeakMap<Tx, Set<string>>();

/**
 * For ingestion's event insert (crm/events.ts): the activity lock, in shared mode, when the configuration read that
 * follows will need it (an event type whose tracking this process does not know), so that read need not take it in
 * a statement of its own. The insert runs it as a CTE and calls `taken` once it succeeded. Null when not needed.
 */
export function activityLockWithInsert(tx: Tx, workspaceId: string, types: string[]): { sql: string; bindings: unknown[]; taken(): void } | null {
  const behaviour = types.filter((type) => isBehaviour({ type }));
  if (lockedWithInsert.get(tx)?.has(workspaceId) || knownTracked(workspaceId, behaviour).unknown.length === 0) return null;
  return {
    ...activityLockSharedSql(workspaceId),
    taken: () => {
      const held = lockedWithInsert.get(tx);
      if (held) held.add(workspaceId);
      else lockedWithInsert.set(tx, new Set([workspaceId]));
    },
  };
}

export async function readIngestConfig(tx: Tx, workspaceId: string, events: IngestedEvent[]): Promise<IngestConfig> {
  const types = [...new Set(events.map((e) => e.type))];
  const query = configQuery(workspaceId, types);
  // In a statement before the lookup below (its own, or the event insert's): under READ COMMITTED the lookup then
  // sees a tracker that committed while we waited (crm/segments/activity.ts trackedTypes).
  if (query.needsLock && !lockedWithInsert.get(tx)?.has(workspaceId)) await lockActivityShared(tx, workspaceId);
  const { rows } = await prepared(tx, `SELECT ${query.columns}`, query.bindings);
  return query.toConfig(rows[0]);
}

/**
 * For ingestion's event insert (crm/events.ts), when the activity lock is already held (taken by an earlier
 * statement) or not needed: the configuration read as a part of that statement, a SQL expression giving one JSON
 * object, and what to make of it. The hook then gets it with the events (OnEventsIngested `config`) and does not read
 * it again. Null when the lookup must wait for a statement after the lock.
 */
export function ingestConfigWithInsert(tx: Tx, workspaceId: string, types: string[]): { sql: string; bindings: unknown[]; toConfig(json: unknown): IngestConfig } | null {
  const query = configQuery(workspaceId, types);
  if (query.needsLock && !lockedWithInsert.get(tx)?.has(workspaceId)) return null;
  return { sql: `(SELECT row_to_json(c) FROM (SELECT ${query.columns}) c)`, bindings: query.bindings, toConfig: query.toConfig };
}

/** The configuration read for events of these types: its columns and bindings, whether it needs the activity lock first. */
function configQuery(workspaceId: string, types: string[]) {
  const behaviour = types.filter((type) => isBehaviour({ type }));
  const { out, unknown } = knownTracked(workspaceId, behaviour);
  return {
    needsLock: unknown.length > 0,
    columns: `coalesce((SELECT json_agg(p) FROM (
              SELECT 'scoring' AS kind, model AS config FROM scoring_models WHERE workspace_id = ?
              UNION ALL SELECT 'referral', config FROM referral_programs WHERE workspace_id = ?
              UNION ALL SELECT 'loyalty', config FROM loyalty_programs WHERE workspace_id = ?) p), '[]') AS programs,
            coalesce((SELECT json_agg(s ORDER BY s.id) FROM (SELECT id, key, rule, updated_at FROM segments WHERE workspace_id = ?) s), '[]') AS segments,
            ${TRACKED_LOOKUP} AS tracked,
            coalesce((SELECT json_agg(t) FROM (SELECT flow_id, version, event_type FROM flow_triggers
                       WHERE workspace_id = ? AND kind IN ('trigger.event', 'trigger.segment') AND event_type = ANY(?::text[])) t), '[]') AS triggers`,
    bindings: [workspaceId, workspaceId, workspaceId, workspaceId, workspaceId, unknown.length > 0 ? [...unknown, ALL_TYPES] : [],
      workspaceId, types] as unknown[],
    toConfig(json: unknown): IngestConfig {
      const row = json as { programs: ProgramRow[]; segments: (Omit<SegmentRow, 'updated_at'> & { updated_at: string })[]; tracked: string[]; triggers: TriggerRow[] };
      return {
        triggers: row.triggers,
        programs: row.programs,
        segments: row.segments.map((s) => ({ ...s, updated_at: new Date(s.updated_at) })),
        tracked: unknown.length > 0 ? addTracked(workspaceId, out, unknown, row.tracked) : out,
      };
    },
  };
}
