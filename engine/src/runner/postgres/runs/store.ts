import { prepared, runTogether, type SqlPart, type Tx } from '../../../db/index.ts';
import type { BatchStore, BatchWork, JobQueue, Json, RunStore } from '../../ports.ts';
import type { Contact, Run, StepRecord, StoredEvent } from '../../model.ts';
import type { FlowCache } from '../flows/flow-cache.ts';
import { groupBy } from '../../group-by.ts';
import { BatchOwnerRouter } from '../owners/owner-router.ts';
import type { NewTask } from '../../in-engine-actions.ts';
import type { StatsDelta } from '../../stats.ts';
import { actionJobsPart, enqueueContacts } from '../../../queue/jobs.ts';
import { activityReader, flowActivityNeeds, loadActivity } from '../../../crm/segments/activity.ts';

const RUN_COLUMNS = `id, workspace_id, flow_id, version, contact_id, status, state, node_id, node_entered_at, attempt,
  wake_at, listen_event, trigger_event_id, since_seq, vars, error, started_at, finished_at`;

interface RunRow {
  id: string; workspace_id: string; flow_id: string; version: number; contact_id: string; status: Run['status'];
  state: Run['state']; node_id: string | null; node_entered_at: Date | null; attempt: number; wake_at: Date | null;
  listen_event: string | null; trigger_event_id: string | null; since_seq: number; vars: Record<string, Json>;
  error: Json | null; started_at: Date; finished_at: Date | null;
}

export const toRun = (r: RunRow): Run => ({
  id: r.id,
  workspaceId: r.workspace_id,
  flowId: r.flow_id,
  version: r.version,
  contactId: r.contact_id,
  status: r.status,
  state: r.state,
  nodeId: r.node_id,
  nodeEnteredAt: r.node_entered_at,
  attempt: r.attempt,
  wakeAt: r.wake_at,
  listenEvent: r.listen_event,
  triggerEventId: r.trigger_event_id,
  sinceSeq: r.since_seq,
  vars: r.vars,
  error: r.error,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

export const CONTACT_COLUMNS = `id, workspace_id, external_id, email, properties, tags, score, owner_id, lifecycle_stage, timezone,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at`;

export const EVENT_COLUMNS = `id, seq, contact_id, type, properties,
  to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at`;

/**
 * Loads the open runs of a batch's locked contacts and, only as far as their flows can use them, later events (for
 * runs that listen: goal, exit, wait), trigger events (for runs that read them) and behavioural attributes (for
 * flows whose conditions read `activity`: two index reads per batch). A query per table, never per contact.
 */
async function loadWork(tx: Tx, workspaceId: string, contacts: Contact[], now: Date, flows: FlowCache): Promise<BatchWork> {
  const ids = contacts.map((c) => c.id);
  const runs = ((await prepared(tx,
    `SELECT ${RUN_COLUMNS} FROM runs WHERE workspace_id = ? AND contact_id = ANY(?::uuid[]) AND status IN ('active','waiting') ORDER BY id`,
    [workspaceId, ids],
  )).rows as RunRow[]).map(toRun);
  if (runs.length === 0) return { runs, newEvents: [], triggerEvents: [] };

  await flows.ensure(tx, workspaceId, runs.map((r) => ({ flowId: r.flowId, version: r.version })));
  const flowOf = (r: Run) => flows.get(r.flowId, r.version)!;
  // A run still at its trigger has recorded no step yet; any other may have rows to fold into its record when it ends.
  for (const r of runs) r.stepRows = !(r.nodeId === flowOf(r).trigger.id && r.attempt <= 1);
  const minSince = new Map<string, number>();
  for (const r of runs) if (flowOf(r).listensToEvents) minSince.set(r.contactId, Math.min(minSince.get(r.contactId) ?? Infinity, r.sinceSeq));
  const triggerIds = [...new Set(runs.filter((r) => r.triggerEventId && flowOf(r).readsTriggerEvent).map((r) => r.triggerEventId!))];
  const newEvents = minSince.size
    ? await tx.raw(
      `SELECT ${EVENT_COLUMNS} FROM events e JOIN unnest(?::uuid[], ?::bigint[]) AS m(cid, since) ON e.contact_id = m.cid AND e.seq > m.since
        WHERE e.workspace_id = ? ORDER BY e.seq`,
      [[...minSince.keys()], [...minSince.values()], workspaceId],
    )
    : { rows: [] };
  const triggerEvents = triggerIds.length
    ? await tx.raw(`SELECT ${EVENT_COLUMNS} FROM events WHERE workspace_id = ? AND id = ANY(?::uuid[])`, [workspaceId, triggerIds])
    : { rows: [] };
  const reading = [...new Set(runs.map(flowOf))].filter((f) => f.activity.types.length > 0).map((f) => f.activity);
  const activity = reading.length ? await loadActivity(tx, workspaceId, ids, flowActivityNeeds(reading, now)) : null;
  return {
    runs,
    newEvents: newEvents.rows as StoredEvent[],
    triggerEvents: triggerEvents.rows as StoredEvent[],
    activity: activity ? (contactId) => activityReader(activity.get(contactId), now) : undefined,
  };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const part = (sql: string, bindings: unknown[]): SqlPart => ({ sql, bindings });

const STATUS_CODE: Record<StepRecord['status'], string> = { completed: 'c', skipped: 's', failed: 'f', deferred: 'd' };

/**
 * A step as an element of a run's compact record (migration 0250): [node_id, status, times, output, error, logs],
 * trailing nulls left out. status: c s f d, then the attempt unless 1; upper case when `isVar` (the output is also the
 * run's var of this node, which `runs.vars` then leaves out). times: "<started>:<finished>" in milliseconds after the
 * run started, one number when equal. Strings: jsonb keeps a few digits in fewer bytes than a number.
 */
export function compactStep(s: StepRecord, runStartedAt: Date, isVar: boolean): Json[] {
  const code = isVar ? STATUS_CODE[s.status].toUpperCase() : STATUS_CODE[s.status];
  const started = s.startedAt.getTime() - runStartedAt.getTime();
  const finished = s.finishedAt.getTime() - runStartedAt.getTime();
  const e: Json[] = [
    s.nodeId, s.attempt === 1 ? code : `${code}${s.attempt}`, started === finished ? `${started}` : `${started}:${finished}`,
    s.output, s.error, s.logs?.length ? s.logs : null,
  ];
  while (e.length > 3 && e[e.length - 1] === null) e.pop();
  return e;
}

/**
 * The compact record of a run that ended, from the steps it recorded in this batch, and its vars without the values
 * that are those steps' outputs (the same object: set by the executor from the step it recorded, the last of its node).
 */
function compactRecord(run: Run, steps: StepRecord[]): { steps: Json[]; vars: Record<string, Json> } {
  const lastOfNode = new Map<string, StepRecord>();
  for (const s of steps) lastOfNode.set(s.nodeId, s);
  const vars = { ...run.vars };
  const out = steps.map((s) => {
    const isVar = lastOfNode.get(s.nodeId) === s && (s.status === 'completed' || s.status === 'skipped')
      && Object.hasOwn(run.vars, s.nodeId) && run.vars[s.nodeId] === s.output;
    if (isVar) delete vars[s.nodeId];
    return compactStep(s, run.startedAt, isVar);
  });
  return { steps: out, vars };
}

/** A run_steps row as an element of the compact record (rows folded when their run ends), in SQL. */
const ROW_AS_COMPACT = `jsonb_build_array(s.node_id,
  CASE s.status WHEN 'completed' THEN 'c' WHEN 'skipped' THEN 's' WHEN 'failed' THEN 'f' ELSE 'd' END || CASE WHEN s.attempt = 1 THEN '' ELSE s.attempt::text END,
  (extract(epoch FROM s.started_at - r.started_at) * 1000)::float8::text
    || CASE WHEN s.finished_at = s.started_at THEN '' ELSE ':' || (extract(epoch FROM s.finished_at - r.started_at) * 1000)::float8::text END,
  s.output, s.error, s.logs)`;

/**
 * Writes the runs back, with the steps they recorded (one statement per table, never one per step). A run that ended
 * keeps its steps as ONE compact record on its row (`runs.steps`, migration 0250), written by the same UPDATE, and
 * its vars without the outputs that record holds; rows it recorded while it waited are folded in first and deleted.
 * An open run's steps are run_steps rows. Completion changes no indexed column (migration 0200), so it can be a HOT
 * update. The id list (also in unnest) lets the planner probe runs_pkey: unnest alone is estimated like any function,
 * and at a few hundred thousand runs the planner hashed the whole table for every batch instead (measured at 100,000
 * runs: 237 ms → 92 ms per batch of 1,000).
 */
export async function writeRuns(tx: Tx, runs: Run[], now: Date, steps: StepRecord[] = []): Promise<void> {
  await runTogether(tx, runsParts(runs, now, steps));
}

/** writeRuns as parts of one statement (db/index.ts runTogether): the runs' UPDATE, folded rows' DELETE, open runs' steps. */
function runsParts(runs: Run[], now: Date, steps: StepRecord[] = []): SqlPart[] {
  const parts: SqlPart[] = [];
  if (runs.length === 0 && steps.length === 0) return parts;
  const stepsOf = groupBy(steps, (s) => s.runId);
  const compact = new Map<string, { steps: Json[]; vars: Record<string, Json> }>();
  for (const r of runs) {
    if (r.state === 'done' && (stepsOf.has(r.id) || r.stepRows)) compact.set(r.id, compactRecord(r, stepsOf.get(r.id) ?? []));
  }
  // One UPDATE per workspace (an executor batch holds one), the workspace a plain parameter. With `= ANY` of a list
  // on both columns of runs_pkey (migration 0280) the planner joined the unnest by a nested loop over the
  // materialized rows: 500 × 500 comparisons, 45 ms a W1 batch where the hash join it picks with one workspace
  // took 34 ms.
  for (const group of groupBy(runs, (r) => r.workspaceId).values()) parts.push(runsUpdatePart(group, now, compact));
  // In the same statement as the UPDATE above, whose fold reads these rows as they were before it.
  const folded = runs.filter((r) => compact.has(r.id) && r.stepRows);
  if (folded.length) {
    parts.push(part(`DELETE FROM run_steps WHERE workspace_id = ANY(?::uuid[]) AND run_id = ANY(?::uuid[]) RETURNING 1`,
      [[...new Set(folded.map((r) => r.workspaceId))], folded.map((r) => r.id)]));
  }
  const workspaceOf = new Map(runs.map((r) => [r.id, r.workspaceId]));
  const open = stepsPart(steps.filter((s) => !compact.has(s.runId)), (runId) => {
    const w = workspaceOf.get(runId);
    if (!w) throw new Error(`step of run ${runId}, which is not written with it`);
    return w;
  });
  if (open) parts.push(open);
  return parts;
}

/** The UPDATE of runs of one workspace that writeRuns makes (status, state, vars, compact steps). */
function runsUpdatePart(runs: Run[], now: Date, compact: Map<string, { steps: Json[]; vars: Record<string, Json> }>): SqlPart {
  const ids = runs.map((r) => r.id);
  return part(
    `UPDATE runs r SET status = u.status, state = u.state, node_id = u.node_id, node_entered_at = u.node_entered_at,
            attempt = u.attempt, wake_at = u.wake_at, listen_event = u.listen_event, since_seq = u.since_seq,
            vars = u.vars, error = u.error, finished_at = u.finished_at, updated_at = ?,
            steps = CASE WHEN u.steps IS NULL THEN r.steps
                         ELSE nullif(coalesce(r.steps, '[]') || CASE WHEN u.fold THEN coalesce((
                           SELECT jsonb_agg(${ROW_AS_COMPACT} ORDER BY s.id) FROM run_steps s WHERE s.workspace_id = r.workspace_id AND s.run_id = r.id
                         ), '[]') ELSE '[]' END || u.steps, '[]') END
       FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::int[], ?::timestamptz[], ?::text[],
                   ?::bigint[], ?::jsonb[], ?::jsonb[], ?::timestamptz[], ?::jsonb[], ?::boolean[])
         AS u(id, status, state, node_id, node_entered_at, attempt, wake_at, listen_event, since_seq, vars, error, finished_at, steps, fold)
      WHERE r.id = u.id AND r.workspace_id = ? AND r.id = ANY(?::uuid[])
      RETURNING 1`,
    [
      now,
      ids,
      runs.map((r) => r.status),
      runs.map((r) => r.state),
      runs.map((r) => r.nodeId),
      runs.map((r) => iso(r.nodeEnteredAt)),
      runs.map((r) => r.attempt),
      runs.map((r) => iso(r.wakeAt)),
      runs.map((r) => r.listenEvent),
      runs.map((r) => r.sinceSeq),
      runs.map((r) => JSON.stringify(compact.get(r.id)?.vars ?? r.vars)),
      runs.map((r) => (r.error === null ? null : JSON.stringify(r.error))),
      runs.map((r) => iso(r.finishedAt)),
      runs.map((r) => { const c = compact.get(r.id); return c ? JSON.stringify(c.steps) : null; }),
      runs.map((r) => compact.has(r.id) && r.stepRows === true),
      runs[0]!.workspaceId,
      ids,
    ],
  );
}

/** Steps of runs still open, as run_steps rows. */
function stepsPart(steps: StepRecord[], workspaceOf: (runId: string) => string): SqlPart | null {
  if (steps.length === 0) return null;
  return part(
    `INSERT INTO run_steps (workspace_id, run_id, node_id, status, attempt, started_at, finished_at, output, error, logs)
     SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::int[], ?::timestamptz[], ?::timestamptz[], ?::jsonb[], ?::jsonb[], ?::jsonb[])
     RETURNING 1`,
    [
      steps.map((s) => workspaceOf(s.runId)),
      steps.map((s) => s.runId),
      steps.map((s) => s.nodeId),
      steps.map((s) => s.status),
      steps.map((s) => s.attempt),
      steps.map((s) => s.startedAt.toISOString()),
      steps.map((s) => s.finishedAt.toISOString()),
      steps.map((s) => (s.output === null ? null : JSON.stringify(s.output))),
      steps.map((s) => (s.error === null ? null : JSON.stringify(s.error))),
      steps.map((s) => (s.logs ? JSON.stringify(s.logs) : null)),
    ],
  );
}

function contactsPart(workspaceId: string, contacts: Contact[]): SqlPart | null {
  if (contacts.length === 0) return null;
  return part(
    `UPDATE contacts c SET properties = u.properties, tags = ARRAY(SELECT jsonb_array_elements_text(u.tags)),
            score = u.score, owner_id = u.owner_id, updated_at = u.updated_at
       FROM unnest(?::uuid[], ?::jsonb[], ?::jsonb[], ?::float8[], ?::uuid[], ?::timestamptz[]) AS u(id, properties, tags, score, owner_id, updated_at)
      WHERE c.id = u.id AND c.workspace_id = ? AND c.id = ANY(?::uuid[])
      RETURNING 1`,
    // The id list lets the planner probe contacts_pkey instead of hashing every contact per batch (as writeRuns).
    [
      contacts.map((c) => c.id),
      contacts.map((c) => JSON.stringify(c.properties)),
      contacts.map((c) => JSON.stringify(c.tags)),
      contacts.map((c) => c.score),
      contacts.map((c) => c.owner_id),
      contacts.map((c) => c.updated_at),
      workspaceId,
      contacts.map((c) => c.id),
    ],
  );
}

function tasksPart(tasks: NewTask[]): SqlPart | null {
  if (tasks.length === 0) return null;
  return part(
    `INSERT INTO tasks (id, workspace_id, contact_id, owner_id, assignee, run_id, node_id, title, body, due_at)
     SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::uuid[], ?::text[], ?::text[], ?::text[], ?::timestamptz[])
     RETURNING 1`,
    [
      tasks.map((t) => t.id),
      tasks.map((t) => t.workspaceId),
      tasks.map((t) => t.contactId),
      tasks.map((t) => t.ownerId),
      tasks.map((t) => t.assignee),
      tasks.map((t) => t.runId),
      tasks.map((t) => t.nodeId),
      tasks.map((t) => t.title),
      tasks.map((t) => t.body),
      tasks.map((t) => iso(t.dueAt)),
    ],
  );
}


/** Counter shards: a batch picks one at random so concurrent batches rarely wait on the same counter row. */
const SHARDS = 8;
export const statsShard = () => Math.floor(Math.random() * SHARDS);

export async function writeStats(tx: Tx, stats: StatsDelta): Promise<void> {
  await runTogether(tx, statsParts(stats));
}

/** writeStats as parts of one statement: the node counters' upsert and the flow counters'. */
function statsParts(stats: StatsDelta): SqlPart[] {
  const parts: SqlPart[] = [];
  if (stats.empty) return parts;
  const shard = statsShard();
  const nodes = [...stats.nodes.values()];
  if (nodes.length) {
    parts.push(part(
      `INSERT INTO node_stats (workspace_id, flow_id, version, node_id, shard, entered, completed, failed, waiting)
       SELECT w, f, v, n, ?, e, c, x, wt FROM unnest(?::uuid[], ?::uuid[], ?::int[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
         AS u(w, f, v, n, e, c, x, wt)
       ORDER BY f, v, n
       ON CONFLICT (workspace_id, flow_id, version, node_id, shard) DO UPDATE SET
         entered = node_stats.entered + EXCLUDED.entered, completed = node_stats.completed + EXCLUDED.completed,
         failed = node_stats.failed + EXCLUDED.failed, waiting = node_stats.waiting + EXCLUDED.waiting
       RETURNING 1`,
      [
        shard,
        nodes.map((n) => n.workspaceId),
        nodes.map((n) => n.flowId),
        nodes.map((n) => n.version),
        nodes.map((n) => n.nodeId),
        nodes.map((n) => n.c.entered),
        nodes.map((n) => n.c.completed),
        nodes.map((n) => n.c.failed),
        nodes.map((n) => n.c.waiting),
      ],
    ));
  }
  const flows = [...stats.flows.values()];
  if (flows.length) {
    parts.push(part(
      `INSERT INTO flow_stats (workspace_id, flow_id, version, shard, started, completed, converted, exited, failed, cancelled)
       SELECT w, f, v, ?, s, c, cv, ex, fl, cn FROM unnest(?::uuid[], ?::uuid[], ?::int[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
         AS u(w, f, v, s, c, cv, ex, fl, cn)
       ORDER BY f, v
       ON CONFLICT (workspace_id, flow_id, version, shard) DO UPDATE SET
         started = flow_stats.started + EXCLUDED.started, completed = flow_stats.completed + EXCLUDED.completed,
         converted = flow_stats.converted + EXCLUDED.converted, exited = flow_stats.exited + EXCLUDED.exited,
         failed = flow_stats.failed + EXCLUDED.failed, cancelled = flow_stats.cancelled + EXCLUDED.cancelled
       RETURNING 1`,
      [
        shard,
        flows.map((f) => f.workspaceId),
        flows.map((f) => f.flowId),
        flows.map((f) => f.version),
        flows.map((f) => f.c.started),
        flows.map((f) => f.c.completed),
        flows.map((f) => f.c.converted),
        flows.map((f) => f.c.exited),
        flows.map((f) => f.c.failed),
        flows.map((f) => f.c.cancelled),
      ],
    ));
  }
  return parts;
}

/** runner/ports.ts RunStore over the runs table. */
export const postgresRunStore: RunStore = {
  async lock(tx, workspaceId, runId) {
    const found = await tx.raw(`SELECT contact_id FROM runs WHERE workspace_id = ? AND id = ?`, [workspaceId, runId]);
    if (!found.rows[0]) return undefined;
    await tx.raw(`SELECT 1 FROM contacts WHERE workspace_id = ? AND id = ? FOR UPDATE`, [workspaceId, found.rows[0].contact_id]);
    // The vars in full (run_vars): a retried run goes on with the outputs its compact record holds.
    const { rows } = await tx.raw(`SELECT ${RUN_COLUMNS.replace('vars,', 'run_vars(vars, steps) AS vars,')} FROM runs WHERE workspace_id = ? AND id = ? FOR UPDATE`, [workspaceId, runId]);
    if (!rows[0]) return undefined;
    const run = toRun(rows[0] as RunRow);
    run.stepRows = true;
    return run;
  },
  write: writeRuns,
  async otherOpenRun(tx, run) {
    const { rows } = await tx.raw(
      `SELECT 1 FROM runs me JOIN runs o ON o.workspace_id = me.workspace_id AND o.contact_id = me.contact_id AND o.flow_id = me.flow_id
        WHERE me.workspace_id = ? AND me.id = ? AND me.exclusive AND o.id <> me.id AND o.status IN ('active','waiting') LIMIT 1`,
      [run.workspaceId, run.id],
    );
    return rows.length > 0;
  },
  writeStats,
};

/** runner/ports.ts BatchStore over the contacts, runs, run_steps, tasks and statistics tables. */
export function createBatchStore(flows: FlowCache): BatchStore {
  return {
    ...postgresRunStore,
    async lockContacts(tx, workspaceId, contactIds) {
      return (await prepared(tx, `SELECT ${CONTACT_COLUMNS} FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR UPDATE`, [workspaceId, contactIds])).rows as Contact[];
    },
    loadWork: (tx, workspaceId, contacts, now) => loadWork(tx, workspaceId, contacts, now, flows),
    router: (tx, workspaceId, now) => new BatchOwnerRouter(tx, workspaceId, now),
    async writeBatch(tx, out) {
      if (!(out.router instanceof BatchOwnerRouter)) throw new Error('writeBatch takes the router this store made');
      const parts = [
        // The batch need not wait for its WAL flush: if PostgreSQL crashes, it loses a suffix of commits in order, so
        // this batch and everything after it (the job completions included) are lost together, the jobs run again, and
        // no in-engine step is lost or doubled. Ingestion, whose 202 promises durability, keeps synchronous commits.
        // (SET LOCAL as a function, in this statement rather than one of its own: the setting counts at commit.)
        part(`SELECT set_config('synchronous_commit', 'off', true)`, []),
        ...runsParts(out.runs, out.now, out.steps), contactsPart(out.workspaceId, out.contacts), tasksPart(out.tasks),
        ...out.router.parts(), actionJobsPart(out.actions), ...statsParts(out.stats),
      ].filter((p): p is SqlPart => p !== null);
      // Nothing after it reads its answer (segment refresh and emitted events read its effect, in order after it):
      // on a pipelined connection the batch goes on, and COMMIT follows, without waiting for it.
      await runTogether(tx, parts, { unawaited: true });
    },
  };
}

/** runner/ports.ts JobQueue over graphile-worker (queue/jobs.ts). */
export const postgresJobQueue: JobQueue = { enqueueContacts };
