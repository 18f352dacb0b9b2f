import type { Tx } from '../db/index.ts';

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
  await tx.raw(
    `UPDATE runs SET status = CASE WHEN status IN ('active','waiting') THEN 'cancelled' ELSE status END,
                     state = CASE WHEN status IN ('active','waiting') THEN 'done' ELSE state END,
                     finished_at = CASE WHEN status IN ('active','waiting') THEN ? ELSE finished_at END,
                     wake_at = NULL, listen_event = NULL, vars = '{}', error = NULL, updated_at = ?
     WHERE workspace_id = ? AND contact_id = ?`,
    [now, now, workspaceId, contactId],
  );
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
