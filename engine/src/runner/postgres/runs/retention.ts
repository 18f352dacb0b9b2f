import type { Db } from '../../../db/index.ts';
import type { Logger } from '../../../logger.ts';

/** A workspace's retention (GET/PUT /v1/settings/retention): null keeps for ever. */
export interface RetentionSettings {
  run_steps_days: number | null;
  events_days: number | null;
  runs_days: number | null;
}

const days = { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1, maximum: 36_500 }] } as const;

/** The settings as answered: every field present. */
export const retentionSchema = {
  type: 'object', additionalProperties: false, required: ['run_steps_days', 'events_days', 'runs_days'],
  properties: { run_steps_days: days, events_days: days, runs_days: days },
} as const;

/**
 * The settings as sent: `events_days` or `runs_days` left out keeps those for ever (the body replaces the stored
 * settings). A run's steps go with it, so `runs_days` needs `run_steps_days` set and no larger (checkRetention).
 */
export const retentionBodySchema = { ...retentionSchema, required: ['run_steps_days'] } as const;

/** What the body schema cannot say: the problem with a body, or null. */
export function checkRetention(settings: { run_steps_days: number | null; runs_days?: number | null }): string | null {
  const { run_steps_days: steps, runs_days: runs } = settings;
  if (runs === undefined || runs === null) return null;
  if (steps === null || steps > runs) return `run_steps_days must be set and at most runs_days (${runs}): a run's step detail is deleted with it`;
  return null;
}

export async function loadRetention(db: Db, workspaceId: string): Promise<RetentionSettings> {
  const row = await db('workspace_retention').where({ workspace_id: workspaceId })
    .first<Partial<RetentionSettings> | undefined>('run_steps_days', 'events_days', 'runs_days');
  return { run_steps_days: row?.run_steps_days ?? null, events_days: row?.events_days ?? null, runs_days: row?.runs_days ?? null };
}

export async function putRetention(
  db: Db, workspaceId: string, settings: { run_steps_days: number | null; events_days?: number | null; runs_days?: number | null }, now: Date,
): Promise<RetentionSettings> {
  await db.raw(
    `INSERT INTO workspace_retention (workspace_id, run_steps_days, events_days, runs_days, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id) DO UPDATE SET run_steps_days = EXCLUDED.run_steps_days, events_days = EXCLUDED.events_days,
                                              runs_days = EXCLUDED.runs_days, updated_at = EXCLUDED.updated_at`,
    [workspaceId, settings.run_steps_days, settings.events_days ?? null, settings.runs_days ?? null, now],
  );
  return loadRetention(db, workspaceId);
}

const DAY_MS = 86_400_000;
/** How often run retention walks again the runs it had to keep (open, or ended inside the window, when visited). */
const REVISIT_MS = DAY_MS;
/** Runs visited per transaction: small, so pruning holds its locks for milliseconds and never stalls ingestion. */
export const PRUNE_BATCH = 500;

/** The split nodes of a flow's versions, with the goal event type their holdout comparison counts ('' for none). */
async function splitsOf(db: Db, workspaceId: string, flowId: string): Promise<{ versions: number[]; nodes: string[]; goals: string[] }> {
  const { rows } = await db.raw(
    `SELECT v.version, n->>'id' AS node_id, coalesce(v.document->'settings'->'goal'->>'event', '') AS goal
       FROM flow_versions v, jsonb_array_elements(CASE WHEN jsonb_typeof(v.document->'nodes') = 'array' THEN v.document->'nodes' ELSE '[]' END) n
      WHERE v.workspace_id = ? AND v.flow_id = ? AND n->>'type' = 'split'`,
    [workspaceId, flowId],
  );
  const list = rows as { version: number; node_id: string; goal: string }[];
  return { versions: list.map((r) => r.version), nodes: list.map((r) => r.node_id), goals: list.map((r) => r.goal) };
}

/**
 * A CTE adding the split steps of `steps` (run_id, node_id, status, branch: deleted step rows) of the runs in `runs`
 * (id, version, contact_id, status, started_at) to run_split_rollups, as GET /v1/kpis counts them from the live rows
 * (crm/kpis.ts): completed split steps by branch, converted runs, and the UTC day of the contact's first goal event at
 * or after the start. Bindings: workspace id, flow id, the splits (versions, nodes, goals), workspace id.
 */
const ROLL_UP_SPLITS = (steps: string, runs: string) => `split_rolled AS (
  INSERT INTO run_split_rollups AS u (workspace_id, flow_id, version, day, node_id, branch, goal_day, entered, converted)
  SELECT ws, flow_id, version, day, node_id, branch, goal_day, count(*), count(*) FILTER (WHERE converted)
    FROM (SELECT ?::uuid AS ws, ?::uuid AS flow_id, r.version, (r.started_at AT TIME ZONE 'UTC')::date AS day, s.node_id, s.branch,
                 r.status = 'converted' AS converted,
                 (SELECT (min(e.occurred_at) AT TIME ZONE 'UTC')::date FROM events e
                   WHERE e.workspace_id = ? AND e.contact_id = r.contact_id AND e.type = sp.goal AND e.occurred_at >= r.started_at) AS goal_day
            FROM ${steps} s
            JOIN ${runs} r ON r.id = s.run_id
            JOIN unnest(?::int[], ?::text[], ?::text[]) AS sp(version, node_id, goal) ON sp.version = r.version AND sp.node_id = s.node_id
           WHERE s.status = 'completed') x
   GROUP BY ws, flow_id, version, day, node_id, branch, goal_day
  ON CONFLICT (workspace_id, flow_id, version, day, node_id, branch, goal_day)
    DO UPDATE SET entered = u.entered + EXCLUDED.entered, converted = u.converted + EXCLUDED.converted
  RETURNING 1)`;

const splitBindings = (workspaceId: string, flowId: string, s: { versions: number[]; nodes: string[]; goals: string[] }) =>
  [workspaceId, flowId, workspaceId, s.versions, s.nodes, s.goals];

/**
 * Deletes the step detail of ended runs that started before each workspace's window (`now` − run_steps_days),
 * flow by flow along the runs_flow_started index, PRUNE_BATCH runs per short transaction. The run rows, their outcome and
 * every counter (flow and node statistics, KPIs) stay: only the per-step input/output detail goes, and the split
 * steps KPIs count by branch are added to run_split_rollups in the same statement. A run still open when pruning
 * passes its start keeps its steps (they are visited once). Freed space is reused after (auto)vacuum.
 * Steps live as run_steps rows or, once a run ended, as its compact record (`runs.steps`, migration 0250): both go,
 * and both are rolled up. Returns the number of steps deleted.
 */
export async function pruneRunSteps(db: Db, now: Date, logger?: Logger): Promise<number> {
  const { rows } = await db.raw(`SELECT workspace_id, run_steps_days, steps_pruned_before FROM workspace_retention WHERE run_steps_days IS NOT NULL`);
  let deleted = 0;
  for (const w of rows as { workspace_id: string; run_steps_days: number; steps_pruned_before: Date | null }[]) {
    const cutoff = new Date(now.getTime() - w.run_steps_days * DAY_MS);
    const from = w.steps_pruned_before ?? new Date(0);
    if (from >= cutoff) continue;
    const started = performance.now();
    let n = 0;
    const { rows: flows } = await db.raw(`SELECT id FROM flows WHERE workspace_id = ?`, [w.workspace_id]);
    for (const { id: flowId } of flows as { id: string }[]) {
      const splits = await splitsOf(db, w.workspace_id, flowId);
      // Keyset over (started_at, id): a batch of runs often shares one start time.
      let after: [Date, string] = [from, '00000000-0000-0000-0000-000000000000'];
      for (;;) {
        const { rows: batch } = await db.raw(
          `WITH visited AS (
             SELECT id, version, contact_id, status, started_at, finished_at, steps, coalesce(jsonb_array_length(steps), 0) AS compact FROM runs
              WHERE flow_id = ? AND workspace_id = ? AND started_at >= ? AND (started_at, id) > (?, ?::uuid) AND started_at < ?
              ORDER BY started_at, id LIMIT ?
           ), gone AS (
             DELETE FROM run_steps s USING visited v
              WHERE s.run_id = v.id AND s.workspace_id = ? AND v.finished_at IS NOT NULL AND v.finished_at < ?
             RETURNING s.run_id, s.node_id, s.status, s.output->>'branch' AS branch
           ), stripped AS (
             -- The compact record of an ended run (migration 0250); the outputs it marked as vars go back to vars,
             -- so GET /v1/runs/{id} answers the same vars after pruning as before.
             UPDATE runs r SET vars = run_vars(r.vars, r.steps), steps = NULL FROM visited v
              WHERE r.id = v.id AND r.workspace_id = ? AND v.compact > 0 AND v.finished_at < ? AND r.finished_at IS NOT NULL
             RETURNING r.id
           ), pruned AS (
             SELECT run_id, node_id, status, branch FROM gone
             UNION ALL
             SELECT v.id, st.node_id, st.status, st.output->>'branch' FROM stripped x JOIN visited v ON v.id = x.id
               CROSS JOIN LATERAL run_steps_record(v.steps, v.started_at) st
           ), ${ROLL_UP_SPLITS('pruned', 'visited')},
           last AS (SELECT started_at, id FROM visited ORDER BY started_at DESC, id DESC LIMIT 1)
           SELECT (SELECT started_at FROM last) AS at, (SELECT id FROM last) AS id, (SELECT count(*) FROM visited)::int AS runs,
                  (SELECT count(*) FROM pruned)::int AS steps`,
          [flowId, w.workspace_id, after[0], after[0], after[1], cutoff, PRUNE_BATCH, w.workspace_id, cutoff, w.workspace_id, cutoff,
            ...splitBindings(w.workspace_id, flowId, splits)],
        );
        const b = batch[0] as { at: Date | null; id: string | null; runs: number; steps: number };
        n += b.steps;
        if (b.runs < PRUNE_BATCH || b.at === null) break;
        after = [b.at, b.id!];
      }
    }
    await db('workspace_retention').where({ workspace_id: w.workspace_id }).update({ steps_pruned_before: cutoff });
    deleted += n;
    if (n > 0) logger?.info({ workspaceId: w.workspace_id, steps: n, durationMs: Math.round(performance.now() - started) }, 'run step detail pruned');
  }
  return deleted;
}

/**
 * Deletes the ended runs that started and ended before each workspace's window (`now` − runs_days), with any step
 * detail left, flow by flow along runs_flow_started from where the previous pass stopped, PRUNE_BATCH runs per short
 * transaction (one statement). In that statement, what GET /v1/kpis reads from those runs goes to the roll-ups kept
 * for ever: entered and converted per flow, version and UTC day of start (run_rollups), split branches of steps still
 * there (run_split_rollups), and the flow of their email messages (email_messages.flow_id). Only rows the statement
 * really deleted are rolled up, so a run reopened meanwhile (a retry) is neither deleted nor counted twice. Open
 * runs are never deleted; the earliest start of those pruning had to keep is remembered (runs_kept_from) and that
 * range walked again once a day (REVISIT_MS), so a run that outlives its window goes once it has ended. Flow and node
 * statistics are counters and do not change. Returns the number of runs deleted.
 */
export async function pruneRuns(db: Db, now: Date, logger?: Logger): Promise<number> {
  const { rows } = await db.raw(
    `SELECT workspace_id, runs_days, runs_pruned_before, runs_kept_from, runs_revisited_at FROM workspace_retention WHERE runs_days IS NOT NULL`,
  );
  let deleted = 0;
  type Row = { workspace_id: string; runs_days: number; runs_pruned_before: Date | null; runs_kept_from: Date | null; runs_revisited_at: Date | null };
  for (const w of rows as Row[]) {
    const cutoff = new Date(now.getTime() - w.runs_days * DAY_MS);
    const pruned = w.runs_pruned_before ?? new Date(0);
    // Runs kept because they were open (or ended inside the window) when visited are walked again once a day.
    const revisit = w.runs_kept_from !== null && w.runs_kept_from < pruned
      && (w.runs_revisited_at === null || now.getTime() - w.runs_revisited_at.getTime() >= REVISIT_MS);
    const from = revisit ? w.runs_kept_from! : pruned;
    if (from >= cutoff) continue;
    let keptFrom = revisit ? null : w.runs_kept_from;
    const started = performance.now();
    let n = 0;
    const { rows: flows } = await db.raw(`SELECT id FROM flows WHERE workspace_id = ?`, [w.workspace_id]);
    for (const { id: flowId } of flows as { id: string }[]) {
      const splits = await splitsOf(db, w.workspace_id, flowId);
      let after: [Date, string] = [from, '00000000-0000-0000-0000-000000000000'];
      for (;;) {
        const { rows: batch } = await db.raw(
          `WITH visited AS (
             SELECT id, started_at FROM runs
              WHERE flow_id = ? AND workspace_id = ? AND started_at >= ? AND (started_at, id) > (?, ?::uuid) AND started_at < ?
              ORDER BY started_at, id LIMIT ?
           ), gone AS (
             DELETE FROM runs r USING visited v
              WHERE r.id = v.id AND r.workspace_id = ? AND r.status NOT IN ('active', 'waiting') AND r.finished_at < ?
             RETURNING r.id, r.version, r.contact_id, r.status, r.started_at, r.steps
           ), steps AS (
             DELETE FROM run_steps s USING gone g WHERE s.run_id = g.id AND s.workspace_id = ?
             RETURNING s.run_id, s.node_id, s.status, s.output->>'branch' AS branch
           ), all_steps AS (
             -- Rows, and the compact records of ended runs (migration 0250).
             SELECT run_id, node_id, status, branch FROM steps
             UNION ALL
             SELECT g.id, st.node_id, st.status, st.output->>'branch' FROM gone g CROSS JOIN LATERAL run_steps_record(g.steps, g.started_at) st
           ), ${ROLL_UP_SPLITS('all_steps', 'gone')},
           rolled AS (
             INSERT INTO run_rollups AS u (workspace_id, flow_id, version, day, entered, converted)
             SELECT ?::uuid, ?::uuid, version, (started_at AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE status = 'converted')
               FROM gone GROUP BY 3, 4
             ON CONFLICT (workspace_id, flow_id, version, day)
               DO UPDATE SET entered = u.entered + EXCLUDED.entered, converted = u.converted + EXCLUDED.converted
             RETURNING 1
           ), mails AS (
             UPDATE email_messages m SET flow_id = ? FROM gone g WHERE m.workspace_id = ? AND m.run_id = g.id RETURNING 1
           ), last AS (SELECT started_at, id FROM visited ORDER BY started_at DESC, id DESC LIMIT 1)
           SELECT (SELECT started_at FROM last) AS at, (SELECT id FROM last) AS id,
                  (SELECT count(*) FROM visited)::int AS runs, (SELECT count(*) FROM gone)::int AS deleted,
                  (SELECT min(v.started_at) FROM visited v WHERE NOT EXISTS (SELECT 1 FROM gone g WHERE g.id = v.id)) AS kept`,
          [flowId, w.workspace_id, after[0], after[0], after[1], cutoff, PRUNE_BATCH, w.workspace_id, cutoff, w.workspace_id,
            ...splitBindings(w.workspace_id, flowId, splits), w.workspace_id, flowId, flowId, w.workspace_id],
        );
        const b = batch[0] as { at: Date | null; id: string | null; runs: number; deleted: number; kept: Date | null };
        n += b.deleted;
        if (b.kept && (keptFrom === null || b.kept < keptFrom)) keptFrom = b.kept;
        if (b.runs < PRUNE_BATCH || b.at === null) break;
        after = [b.at, b.id!];
      }
    }
    await db('workspace_retention').where({ workspace_id: w.workspace_id }).update({
      runs_pruned_before: cutoff > pruned ? cutoff : pruned, runs_kept_from: keptFrom, ...(revisit ? { runs_revisited_at: now } : {}),
    });
    deleted += n;
    if (n > 0) logger?.info({ workspaceId: w.workspace_id, runs: n, durationMs: Math.round(performance.now() - started) }, 'runs pruned');
  }
  return deleted;
}

/**
 * Event types kept whatever the window: GET /v1/kpis computes its figures from them over any period (the types of
 * the events_kpi and events_kpi_email indexes, migrations 0140 and 0141), so pruning them would change KPIs.
 */
export const KPI_EVENT_TYPES = [
  'order.completed', 'customer.churned', 'nps.responded', 'csat.responded', 'marketing.spend',
  'email.opened', 'email.clicked', 'email.bounced', 'email.complained', 'email.unsubscribed',
] as const;

/**
 * Deletes the events received before each workspace's window (`now` − events_days), PRUNE_BATCH events per short
 * transaction, visited in id order (arrival order) from where the previous pass stopped. Kept whatever their age,
 * so nothing computed from events changes: KPI event types and the goal event types of the workspace's flows (KPIs
 * read them for any period), each contact's first event (referrals tell a new contact from a returning one by it),
 * and events an open run still refers to or has not applied yet (its trigger event, or a later one). Counts kept
 * elsewhere (behavioural attributes, flow and node statistics) are roll-ups and stay. Returns the number deleted.
 */
export async function pruneEvents(db: Db, now: Date, logger?: Logger): Promise<number> {
  const { rows } = await db.raw(`SELECT workspace_id, events_days, events_pruned_after FROM workspace_retention WHERE events_days IS NOT NULL`);
  let deleted = 0;
  for (const w of rows as { workspace_id: string; events_days: number; events_pruned_after: string | null }[]) {
    const cutoff = new Date(now.getTime() - w.events_days * DAY_MS);
    const started = performance.now();
    const { rows: goals } = await db.raw(
      `SELECT DISTINCT document->'settings'->'goal'->>'event' AS type FROM flow_versions
        WHERE workspace_id = ? AND jsonb_typeof(document->'settings'->'goal'->'event') = 'string'`,
      [w.workspace_id],
    );
    const kept = [...KPI_EVENT_TYPES, ...(goals as { type: string }[]).map((g) => g.type)];
    let after = w.events_pruned_after ?? '00000000-0000-0000-0000-000000000000';
    let n = 0;
    for (;;) {
      // The batch ends before the first event still inside the window: later ones are younger (arrival order).
      const { rows: batch } = await db.raw(
        `WITH next AS (
           SELECT id, received_at FROM events WHERE workspace_id = ? AND id > ?::uuid ORDER BY id LIMIT ?
         ), visited AS (
           SELECT id FROM next WHERE id < coalesce((SELECT id FROM next WHERE received_at >= ? ORDER BY id LIMIT 1), 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)
         ), gone AS (
           DELETE FROM events e USING visited v
            WHERE e.id = v.id AND e.workspace_id = ? AND e.type <> ALL(?::text[])
              AND e.seq > (SELECT min(f.seq) FROM events f WHERE f.workspace_id = e.workspace_id AND f.contact_id = e.contact_id)
              AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.workspace_id = e.workspace_id AND r.contact_id = e.contact_id
                                AND r.status IN ('active','waiting') AND (r.trigger_event_id = e.id OR r.since_seq < e.seq))
           RETURNING 1
         )
         SELECT (SELECT id FROM visited ORDER BY id DESC LIMIT 1) AS last, (SELECT count(*) FROM visited)::int AS visited,
                (SELECT count(*) FROM gone)::int AS deleted`,
        [w.workspace_id, after, PRUNE_BATCH, cutoff, w.workspace_id, kept],
      );
      const b = batch[0] as { last: string | null; visited: number; deleted: number };
      n += b.deleted;
      if (b.last) after = b.last;
      if (b.visited < PRUNE_BATCH) break;
    }
    await db('workspace_retention').where({ workspace_id: w.workspace_id }).update({ events_pruned_after: after });
    deleted += n;
    if (n > 0) logger?.info({ workspaceId: w.workspace_id, events: n, durationMs: Math.round(performance.now() - started) }, 'events pruned');
  }
  return deleted;
}

/** Every kind of retention, as the timer poller (every 10 minutes) and the test clock run it. */
export async function pruneHistory(db: Db, now: Date, logger?: Logger): Promise<{ steps: number; events: number; runs: number }> {
  const steps = await pruneRunSteps(db, now, logger);
  return { steps, events: await pruneEvents(db, now, logger), runs: await pruneRuns(db, now, logger) };
}
