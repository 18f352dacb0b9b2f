import type { Db } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { registerErasureStep } from '../crm/erasure.ts';
import { windowStart, type FrequencyCap } from './email-policy.ts';

export type Reservation =
  | { kind: 'send'; id: string }
  | { kind: 'already_sent'; id: string; to: string | null; transport: string | null }
  | { kind: 'capped'; reason: string };

export interface ReserveArgs {
  workspaceId: string;
  runId: string;
  nodeId: string;
  contactId: string;
  category: string;
  caps: readonly FrequencyCap[];
  now: Date;
}

/**
 * Takes a slot for one message under the contact's frequency caps, or refuses it. Race-free: the check and the
 * insert run under a transaction-scoped advisory lock on (workspace, contact), so two flows sending to one contact
 * at once are serialised and cannot both pass a cap of one. A reserved slot counts until it is released (the send
 * failed). The (run, node) row is the step's idempotency key: a retry finds its own slot (or its sent message).
 */
export async function reserveSend(db: Db, a: ReserveArgs): Promise<Reservation> {
  return db.transaction(async (tx) => {
    await tx.raw(`SELECT pg_advisory_xact_lock(hashtext('cairn.email:' || ?), hashtext(?))`, [a.workspaceId, a.contactId]);
    const own = await tx('email_messages').where({ workspace_id: a.workspaceId, run_id: a.runId, node_id: a.nodeId })
      .first<{ id: string; status: string; skip_reason: string | null; to_address: string | null; transport: string | null } | undefined>('id', 'status', 'skip_reason', 'to_address', 'transport');
    if (own?.status === 'sent') return { kind: 'already_sent', id: own.id, to: own.to_address, transport: own.transport };
    if (own?.status === 'capped') return { kind: 'capped', reason: own.skip_reason ?? 'frequency cap' };
    if (own?.status === 'reserved') return { kind: 'send', id: own.id };

    for (const cap of a.caps.filter((c) => c.category === a.category)) {
      const { rows } = await tx.raw(
        `SELECT count(*)::int AS n FROM email_messages
          WHERE workspace_id = ? AND contact_id = ? AND category = ? AND created_at > ? AND status IN ('reserved','sent')`,
        [a.workspaceId, a.contactId, a.category, windowStart(a.now, cap.within)],
      );
      if ((rows[0].n as number) >= cap.max) {
        const reason = `frequency cap: ${rows[0].n} ${a.category} email(s) already sent to this contact within ${cap.within} (at most ${cap.max})`;
        await upsert(tx, a, own?.id ?? newId(a.now.getTime()), 'capped', reason);
        return { kind: 'capped', reason };
      }
    }
    const id = own?.id ?? newId(a.now.getTime());
    await upsert(tx, a, id, 'reserved', null);
    return { kind: 'send', id };
  });
}

async function upsert(tx: Db, a: ReserveArgs, id: string, status: 'reserved' | 'capped', reason: string | null): Promise<void> {
  await tx.raw(
    `INSERT INTO email_messages (workspace_id, id, run_id, node_id, contact_id, category, status, skip_reason, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id, run_id, node_id) DO UPDATE SET status = EXCLUDED.status, skip_reason = EXCLUDED.skip_reason, created_at = EXCLUDED.created_at`,
    [a.workspaceId, id, a.runId, a.nodeId, a.contactId, a.category, status, reason, a.now],
  );
}

export interface SentMessage {
  transport: 'smtp' | 'outbox';
  to: string;
  from: string;
  subject: string;
  /** Kept only for the outbox (the development mail catcher). */
  html?: string;
  text?: string;
  headers: Record<string, string>;
}

export async function markSent(db: Db, workspaceId: string, id: string, m: SentMessage, now: Date): Promise<void> {
  const keepBody = m.transport === 'outbox';
  await db('email_messages').where({ workspace_id: workspaceId, id }).update({
    status: 'sent', transport: m.transport, to_address: m.to, from_address: m.from, subject: m.subject,
    html: keepBody ? (m.html ?? null) : null, text: keepBody ? (m.text ?? null) : null,
    headers: JSON.stringify(m.headers), sent_at: now,
  });
}

/** The send failed: the slot no longer counts against a cap (a retry reserves again). */
export async function releaseSend(db: Db, workspaceId: string, id: string): Promise<void> {
  await db('email_messages').where({ workspace_id: workspaceId, id }).update({ status: 'failed' });
}

// Erasure scrubs what identifies the person; the rows stay so frequency caps and counts stay true.
registerErasureStep(async (tx, workspaceId, contactId) => {
  await tx('email_messages').where({ workspace_id: workspaceId, contact_id: contactId })
    .update({ to_address: null, from_address: null, subject: null, html: null, text: null, headers: null });
});
