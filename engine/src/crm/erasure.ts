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
 * Runs and run steps are the runner's (runner/postgres/runs/erasure.ts registers that step), like every module's own tables.
 * Returns false when the contact does not exist (or was already erased) in this workspace.
 */
export async function eraseContact(tx: Tx, workspaceId: string, contactId: string, now: Date): Promise<boolean> {
  const erased = await tx('contacts').where({ workspace_id: workspaceId, id: contactId }).whereNull('erased_at').update({
    external_id: null, email: null, properties: '{}', tags: '{}', timezone: null, lifecycle_stage: null, erased_at: now, updated_at: now,
  });
  if (erased === 0) return false;
  await tx('events').where({ workspace_id: workspaceId, contact_id: contactId }).update({ properties: '{}', idempotency_key: null });
  await tx.raw(`UPDATE tasks SET title = '[erased]', body = NULL WHERE workspace_id = ? AND contact_id = ?`, [workspaceId, contactId]);
  // A replayed POST /v1/contacts response would hand the erased data back.
  await tx.raw(
    `DELETE FROM idempotency_requests WHERE workspace_id = ? AND (response->>'id' = ? OR response->>'contact_id' = ?)`,
    [workspaceId, contactId, contactId],
  );
  for (const step of steps) await step(tx, workspaceId, contactId, now);
  return true;
}
