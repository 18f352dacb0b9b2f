import type { Db } from '../db/index.ts';
import { TRANSACTIONAL } from './email-policy.ts';

/** Every non-transactional category. */
export const ALL = '*';

export type SuppressionReason = 'unsubscribed' | 'bounced' | 'complained';

/**
 * Why the contact must not get a message of `category`, or null. A hard bounce stops every message (the address
 * is dead); an unsubscribe or a complaint stops all (`*`) or one category, never transactional mail.
 */
export async function suppressedFor(db: Db, workspaceId: string, contactId: string, category: string): Promise<string | null> {
  const rows = await db('email_suppressions')
    .where({ workspace_id: workspaceId, contact_id: contactId })
    .whereIn('category', [ALL, category])
    .select<{ category: string; reason: SuppressionReason }[]>('category', 'reason');
  const bounced = rows.find((r) => r.reason === 'bounced');
  if (bounced) return 'the address hard-bounced';
  if (category === TRANSACTIONAL) return null;
  const hit = rows.find((r) => r.category === ALL) ?? rows[0];
  if (!hit) return null;
  if (hit.reason === 'complained') return 'the contact marked a message as spam';
  return hit.category === ALL ? 'the contact unsubscribed from all email' : `the contact unsubscribed from ${category} email`;
}

/** Records a suppression; a bounce is never downgraded to an unsubscribe. */
export async function suppress(db: Db, workspaceId: string, contactId: string, category: string, reason: SuppressionReason, now: Date): Promise<void> {
  await db.raw(
    `INSERT INTO email_suppressions (workspace_id, contact_id, category, reason, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id, contact_id, category) DO UPDATE
       SET reason = CASE WHEN email_suppressions.reason = 'bounced' THEN 'bounced' ELSE EXCLUDED.reason END`,
    [workspaceId, contactId, category, reason, now],
  );
}

/** The preference page's view: the categories the contact unsubscribed from (`*` = all). */
export async function unsubscribedCategories(db: Db, workspaceId: string, contactId: string): Promise<string[]> {
  const rows = await db('email_suppressions').where({ workspace_id: workspaceId, contact_id: contactId, reason: 'unsubscribed' }).select<{ category: string }[]>('category');
  return rows.map((r) => r.category);
}

/**
 * The preference page's save: exactly the given categories (or `*`) are unsubscribed afterwards. Bounce and
 * complaint records stay (only an admin clears those).
 */
export async function setUnsubscribed(db: Db, workspaceId: string, contactId: string, categories: readonly string[], now: Date): Promise<void> {
  await db.transaction(async (tx) => {
    await tx('email_suppressions').where({ workspace_id: workspaceId, contact_id: contactId, reason: 'unsubscribed' }).whereNotIn('category', categories as string[]).delete();
    for (const c of categories) await suppress(tx, workspaceId, contactId, c, 'unsubscribed', now);
  });
}

/** Categories the contact has been sent (besides transactional), for the preference page. */
export async function receivedCategories(db: Db, workspaceId: string, contactId: string): Promise<string[]> {
  const rows = await db('email_messages').where({ workspace_id: workspaceId, contact_id: contactId }).whereNot('category', TRANSACTIONAL).distinct<{ category: string }[]>('category');
  return rows.map((r) => r.category);
}
