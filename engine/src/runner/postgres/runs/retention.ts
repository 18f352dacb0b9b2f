import type { Db } from '../../../db/index.ts';
import type { Logger } from '../../../logger.ts';

/** A workspace's retention (GET/PUT /v1/settings/retention): null keeps for ever. */
export interface RetentionSettings {
  run_steps_days: number | null;
}

export const retentionSchema = {
  type: 'object', additionalProperties: false, required: ['run_steps_days'],
  properties: { run_steps_days: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1, maximum: 36_500 }] } },
} as const;

export async function loadRetention(db: Db, workspaceId: string): Promise<RetentionSettings> {
  const row = await db('workspace_retention').where({ workspace_id: workspaceId }).first<{ run_steps_days: number | null } | undefined>('run_steps_days');
  return { run_steps_days: row?.run_steps_days ?? null };
}

export async function putRetention(db: Db, workspaceId: string, settings: RetentionSettings, now: Date): Promise<RetentionSettings> {
  await db.raw(
    `INSERT INTO workspace_retention (workspace_id, run_steps_days, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (workspace_id) DO UPDATE SET run_steps_days = EXCLUDED.run_steps_days, updated_at = EXCLUDED.updated_at`,
    [workspaceId, settings.run_steps_days, now],
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
