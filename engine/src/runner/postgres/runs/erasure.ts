import { registerErasureStep } from '../../../crm/erasure.ts';
import { cancelRun } from '../../executor.ts';
import { StatsDelta } from '../../stats.ts';
import { toRun, writeRuns, writeStats } from './store.ts';

/**
 * The runner's part of erasing a contact (crm/erasure.ts): its open runs are cancelled, then the vars and errors
 * of all its runs and the output and errors of their steps are scrubbed. Rows stay, so counts stay true.
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
  await tx.raw(`UPDATE runs SET vars = '{}', error = NULL WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  await tx.raw(
    `UPDATE run_steps s SET output = NULL, error = NULL FROM runs r
     WHERE r.workspace_id = ? AND r.contact_id = ? AND s.run_id = r.id AND s.workspace_id = r.workspace_id`,
    [workspaceId, contactId],
  );
});
