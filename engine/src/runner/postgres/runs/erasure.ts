import { registerErasureStep } from '../../../crm/erasure.ts';
import { cancelRun } from '../../executor.ts';
import { StatsDelta } from '../../stats.ts';
import { toRun, writeRuns, writeStats } from './store.ts';

/**
 * The runner's part of erasing a contact (crm/erasure.ts): its open runs are cancelled, then the vars and errors
 * of all its runs and the output and errors of their steps (rows and compact records) are scrubbed. Rows stay, so counts stay true.
 * The contact's row lock is held by the erasure, as the executor takes it: no step interleaves with this.
 */
registerErasureStep(async (tx, workspaceId, contactId, now) => {
  const open = await tx.raw(
    `SELECT * FROM runs WHERE workspace_id = ? AND contact_id = ? AND status IN ('active','waiting') ORDER BY id FOR UPDATE`,
    [workspaceId, contactId],
  );
  if (open.rows.length > 0) {
    const stats = new StatsDelta();
    const runs = open.rows.map((r: Parameters<typeof toRun>[0]) => toRun(r));
    for (const run of runs) cancelRun(run, now, stats);
    await writeRuns(tx, runs, now);
    await writeStats(tx, stats);
  }
  // The compact step record of ended runs (migration 0250) keeps each step's node, status, attempt, times and logs;
  // its outputs and errors go, and no output is marked as a var any more (the vars are gone).
  await tx.raw(
    `UPDATE runs SET vars = '{}', error = NULL,
            steps = (SELECT jsonb_agg(jsonb_build_array(e.s->0, lower(e.s->>1), e.s->2, NULL, NULL, e.s->5) ORDER BY e.n)
                       FROM jsonb_array_elements(steps) WITH ORDINALITY AS e(s, n))
      WHERE workspace_id = ? AND contact_id = ?`,
    [workspaceId, contactId],
  );
  await tx.raw(
    `UPDATE run_steps s SET output = NULL, error = NULL FROM runs r
     WHERE r.workspace_id = ? AND r.contact_id = ? AND s.run_id = r.id AND s.workspace_id = r.workspace_id`,
    [workspaceId, contactId],
  );
});
