import type { Db, Tx } from '../db/index.ts';
import { conflict, invalid, notFound } from '../errors.ts';
import { registerErasureStep } from './erasure.ts';
import type { OnEventsIngested } from './event-hooks.ts';
import { ingestEvents } from './events.ts';

export interface TaskRow {
  id: string;
  contact_id: string;
  owner_id: string | null;
  assignee: string | null;
  run_id: string | null;
  node_id: string | null;
  title: string;
  body: string | null;
  due_at: Date | null;
  status: 'open' | 'done';
  created_at: Date;
  completed_at: Date | null;
  updated_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const taskJson = (t: TaskRow) => ({
  id: t.id, contact_id: t.contact_id, owner_id: t.owner_id, assignee: t.assignee, run_id: t.run_id, node_id: t.node_id,
  title: t.title, body: t.body, due_at: iso(t.due_at), status: t.status, created_at: t.created_at.toISOString(),
  completed_at: iso(t.completed_at), updated_at: iso(t.updated_at ?? t.created_at),
});

export interface TaskFilter {
  owner_id?: string;
  contact_id?: string;
  status?: 'open' | 'done';
  due_before?: string;
}

/** An owner's inbox (or any filter of the workspace's tasks), oldest first; cursor = last id. */
export async function listTasks(tx: Db | Tx, workspaceId: string, f: TaskFilter, after: string | null, limit: number): Promise<TaskRow[]> {
  return tx('tasks').where({ workspace_id: workspaceId }).modify((q) => {
    if (f.owner_id) q.where('owner_id', f.owner_id);
    if (f.contact_id) q.where('contact_id', f.contact_id);
    if (f.status) q.where('status', f.status);
    if (f.due_before) q.where('due_at', '<', f.due_before);
    if (after) q.where('id', '>', after);
  }).orderBy('id').limit(limit + 1).select<TaskRow[]>('*');
}

export interface TaskPatch { status?: 'open' | 'done'; owner_id?: string; title?: string; due_at?: string | null }

/**
 * Completes and/or reassigns one task in the caller's transaction. Completing records `task.completed` for the
 * contact (flows may wait for it) and releases the owner's open lead for that contact; reassigning an open task
 * moves the contact's open lead to the new owner (the old owner's capacity is released). A done task is not reopened.
 */
export async function patchTask(
  tx: Tx, workspaceId: string, id: string, patch: TaskPatch, now: Date, hooks: { onEventsIngested?: OnEventsIngested },
): Promise<TaskRow> {
  const task = await tx('tasks').where({ workspace_id: workspaceId, id }).forUpdate().first<TaskRow>();
  if (!task) throw notFound('task');
  if (patch.status === 'open' && task.status === 'done') throw conflict('a done task cannot be reopened: create a new task instead');
  const changes: Record<string, unknown> = { updated_at: now };
  if (patch.title !== undefined) changes.title = patch.title;
  if (patch.due_at !== undefined) changes.due_at = patch.due_at;
  if (patch.owner_id !== undefined && patch.owner_id !== task.owner_id) {
    if (task.status === 'done' || patch.status === 'done') throw conflict('only an open task can be reassigned');
    const owner = await tx('owners').where({ workspace_id: workspaceId, id: patch.owner_id }).first('id');
    if (!owner) throw invalid(`owner ${patch.owner_id} does not exist`, [{ path: '/owner_id', message: 'no such owner in this workspace' }]);
    changes.owner_id = patch.owner_id;
    changes.assignee = null;
    await moveLead(tx, workspaceId, task.contact_id, task.owner_id, patch.owner_id, now);
  }
  const completing = patch.status === 'done' && task.status === 'open';
  if (completing) {
    changes.status = 'done';
    changes.completed_at = now;
  }
  const [row] = await tx('tasks').where({ workspace_id: workspaceId, id }).update(changes).returning<TaskRow[]>('*');
  if (completing) {
    if (row!.owner_id) await releaseLead(tx, workspaceId, row!.contact_id, row!.owner_id, now, 'task_completed');
    await ingestEvents(tx, workspaceId, [{
      type: 'task.completed', contact: {}, contactId: row!.contact_id, source: 'task', idempotency_key: `task:${id}:completed`,
      properties: { task_id: id, owner_id: row!.owner_id, title: row!.title, run_id: row!.run_id, node_id: row!.node_id },
    }], hooks, { now });
  }
  return row!;
}

/** Releases the contact's open lead if `ownerId` holds it: the owner's capacity frees up. */
async function releaseLead(tx: Tx, workspaceId: string, contactId: string, ownerId: string, now: Date, reason: 'task_completed' | 'reassigned' | 'erased'): Promise<boolean> {
  const released = await tx.raw(
    `UPDATE owner_leads SET released_at = ?, released_reason = ? WHERE workspace_id = ? AND contact_id = ? AND owner_id = ? AND released_at IS NULL`,
    [now, reason, workspaceId, contactId, ownerId],
  );
  if (released.rowCount === 0) return false;
  await tx.raw(`UPDATE owners SET assigned_count = greatest(0, assigned_count - 1) WHERE workspace_id = ? AND id = ?`, [workspaceId, ownerId]);
  return true;
}

/**
 * A reassigned task takes its lead along when the old owner owns the contact: released from the old owner, opened
 * with the new one, contact.owner_id moved. A task of a named assignee (no owner) moves alone.
 */
async function moveLead(tx: Tx, workspaceId: string, contactId: string, from: string | null, to: string, now: Date): Promise<void> {
  const contact = await tx('contacts').where({ workspace_id: workspaceId, id: contactId }).forUpdate().first<{ owner_id: string | null }>('owner_id');
  if (!contact || from === null || contact.owner_id !== from) return;
  await releaseLead(tx, workspaceId, contactId, from, now, 'reassigned');
  const opened = await tx.raw(
    `INSERT INTO owner_leads (workspace_id, id, contact_id, owner_id, assigned_at) VALUES (?, gen_random_uuid(), ?, ?, ?)
     ON CONFLICT (workspace_id, contact_id) WHERE released_at IS NULL DO NOTHING`,
    [workspaceId, contactId, to, now],
  );
  if (opened.rowCount) await tx.raw(`UPDATE owners SET assigned_count = assigned_count + 1 WHERE workspace_id = ? AND id = ?`, [workspaceId, to]);
  await tx('contacts').where({ workspace_id: workspaceId, id: contactId }).update({ owner_id: to, updated_at: now });
}

// An erased contact is closed: its open lead stops counting against its owner's capacity.
registerErasureStep(async (tx, workspaceId, contactId, now) => {
  const { rows } = await tx.raw(`SELECT owner_id FROM owner_leads WHERE workspace_id = ? AND contact_id = ? AND released_at IS NULL`, [workspaceId, contactId]);
  for (const r of rows as { owner_id: string }[]) await releaseLead(tx, workspaceId, contactId, r.owner_id, now, 'erased');
});
