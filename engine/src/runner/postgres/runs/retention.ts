import type { Db } from '../../../db/index.ts';
import type { Logger } from '../../../logger.ts';

/** A workspace's retention (GET/PUT /v1/settings/retention): null keeps for ever. */
export interface RetentionSettings {
  run_steps_days: number | null;
  events_days: number | null;
}

const days = { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1, maximum: 36_500 }] } as const;

/** The settings as answered: every field present. */
export const retentionSchema = {
  type: 'object', additionalProperties: false, required: ['run_steps_days', 'events_days'],
  properties: { run_steps_days: days, events_days: days },
} as const;

/** The settings as sent: `events_days` left out keeps events for ever (the body replaces the stored settings). */
export const retentionBodySchema = { ...retentionSchema, required: ['run_steps_days'] } as const;

export async function loadRetention(db: Db, workspaceId: string): Promise<RetentionSettings> {
  const row = await db('workspace_retention').where({ workspace_id: workspaceId })
    .first<{ run_steps_days: number | null; events_days: number | null } | undefined>('run_steps_days', 'events_days');
  return { run_steps_days: row?.run_steps_days ?? null, events_days: row?.events_days ?? null };
}

export async function putRetention(db: Db, workspaceId: string, settings: { run_steps_days: number | null; events_days?: number | null }, now: Date): Promise<RetentionSettings> {
  await db.raw(
    `INSERT INTO workspace_retention (workspace_id, run_steps_days, events_days, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (workspace_id) DO UPDATE SET run_steps_days = EXCLUDED.run_steps_days, events_days = EXCLUDED.events_days,
                                              updated_at = EXCLUDED.updated_at`,
    [workspaceId, settings.run_steps_days, settings.events_days ?? null, now],
  );
  return loadRetention(db, workspaceId);
}

const DAY_MS = 86_400_000;
/** Runs visited per transaction: small, so pruning holds its locks for milliseconds and never stalls ingestion. */
export const PRUNE_BATCH = 500;

/**
 * Deletes the step detail of ended runs that started before each workspace's window (`now` − run_steps_days),
 * flow by flow along the runs_flow_started index, PRUNE_BATCH runs per short transaction. The run rows, their outcome and
 * every counter (flow and node statistics, KPIs) stay: only the per-step input/output detail goes. A run still open
 * when pruning passes its start keeps its steps (they are visited once). Freed space is reused after (auto)vacuum.
 * Returns the number of step rows deleted.
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
      // Keyset over (started_at, id): a batch of runs often shares one start time.
      let after: [Date, string] = [from, '00000000-0000-0000-0000-000000000000'];
      for (;;) {
        const { rows: batch } = await db.raw(
          `WITH visited AS (
             SELECT id, started_at, finished_at FROM runs
              WHERE flow_id = ? AND workspace_id = ? AND started_at >= ? AND (started_at, id) > (?, ?::uuid) AND started_at < ?
              ORDER BY started_at, id LIMIT ?
           ), gone AS (
             DELETE FROM run_steps s USING visited v
              WHERE s.run_id = v.id AND s.workspace_id = ? AND v.finished_at IS NOT NULL AND v.finished_at < ?
             RETURNING 1
           ), last AS (SELECT started_at, id FROM visited ORDER BY started_at DESC, id DESC LIMIT 1)
           SELECT (SELECT started_at FROM last) AS at, (SELECT id FROM last) AS id,
                  (SELECT count(*) FROM visited)::int AS runs, (SELECT count(*) FROM gone)::int AS steps`,
          [flowId, w.workspace_id, after[0], after[0], after[1], cutoff, PRUNE_BATCH, w.workspace_id, cutoff],
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
export async function pruneHistory(db: Db, now: Date, logger?: Logger): Promise<{ steps: number; events: number }> {
  return { steps: await pruneRunSteps(db, now, logger), events: await pruneEvents(db, now, logger) };
}
