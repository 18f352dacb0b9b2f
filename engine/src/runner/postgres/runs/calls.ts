import type { Db } from '../../../db/index.ts';
import type { CallStore, Json } from '../../ports.ts';
import type { Contact, Run, StoredEvent } from '../../model.ts';
import type { FlowCache } from '../flows/flow-cache.ts';

interface CallRow {
  flow_id: string; version: number; state: Run['state']; node_id: string | null; attempt: number; vars: Record<string, Json>;
  trigger_event_id: string | null; contact: Contact & { processed_seq?: unknown; erased_at?: unknown }; event: StoredEvent | null;
}

/** runner/ports.ts CallStore: the run, its contact and trigger event in one read, its flow version from the cache. */
export function createCallStore(db: Db, flows: FlowCache): CallStore {
  return {
    async load(workspaceId, runId, at) {
      const { rows } = await db.raw(
        `SELECT r.flow_id, r.version, r.state, r.node_id, r.attempt, r.vars, r.trigger_event_id,
                row_to_json(c.*) AS contact, row_to_json(e.*) AS event
           FROM runs r JOIN contacts c ON c.id = r.contact_id AND c.workspace_id = r.workspace_id
           LEFT JOIN events e ON e.id = r.trigger_event_id AND e.workspace_id = r.workspace_id
          WHERE r.workspace_id = ? AND r.id = ?`,
        [workspaceId, runId],
      );
      const row = rows[0] as CallRow | undefined;
      if (!row || row.state !== 'calling' || row.node_id !== at.nodeId || row.attempt !== at.attempt) return undefined;
      await flows.ensure(db, workspaceId, [{ flowId: row.flow_id, version: row.version }]);
      return { flow: flows.get(row.flow_id, row.version)!, vars: row.vars, contact: publicContact(row.contact), event: row.event };
    },
  };
}

function publicContact(c: Contact & { processed_seq?: unknown; erased_at?: unknown }): Contact {
  const { processed_seq: _p, erased_at: _e, ...rest } = c;
  return rest as Contact;
}
