import type { Tx } from '../db/index.ts';
import { cancelRun } from '../runner/executor.ts';
import { StatsDelta } from '../runner/stats.ts';
import { toRun, writeRuns, writeStats } from '../runner/store.ts';

/**
 * One step of erasing a contact's personal data, run inside the erasure transaction. Modules that keep personal
 * data about a contact in their own tables (segments, messages, referrals...) register a step here, so
 * `DELETE /v1/contacts/{id}` reaches every table.
 */
export type ErasureStep = (tx: Tx, workspaceId: string, contactId: string, now: Date) => Promise<void>;

const steps: ErasureStep[] = [];

export function registerErasureStep(step: ErasureStep): void {
  if (!steps.includes(step)) steps.push(step);
}

/**
 * GDPR-style erasure. Rows are kept (so counts of events by type, runs and flow statistics stay the same) but
 * every value that could identify the person is scrubbed: the contact's identity, properties, tags and time
 * zone; its events' properties and idempotency keys; its runs' vars and errors and their steps' output and
 * errors; stored Idempotency-Key responses that echo the contact; its tasks' text. Open runs are cancelled.
 * Returns false when the contact does not exist (or was already erased) in this workspace.
 */
export async function eraseContact(tx: Tx, workspaceId: string, contactId: string, now: Date): Promise<boolean> {
  const erased = await tx('contacts').where({ workspace_id: workspaceId, id: contactId }).whereNull('erased_at').update({
    external_id: null, email: null, properties: '{}', tags: '{}', timezone: null, lifecycle_stage: null, erased_at: now, updated_at: now,
  });
  if (erased === 0) return false;
  await tx('events').where({ workspace_id: workspaceId, contact_id: contactId }).update({ properties: '{}', idempotency_key: null });
  // The contact's row lock is held (the update above), as the executor takes it: no step interleaves with this.
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
  await tx.raw(`UPDATE tasks SET title = '[erased]', body = NULL WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  // A replayed POST /v1/contacts response would hand the erased data back.
  await tx.raw(
    `DELETE FROM idempotency_requests WHERE workspace_id = ? AND (response->>'id' = ? OR response->>'contact_id' = ?)`,
    [workspaceId, contactId, contactId],
  );
  for (const step of steps) await step(tx, workspaceId, contactId, now);
  return true;
}
