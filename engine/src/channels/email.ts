import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Db } from '../db/index.ts';
import { CairnError } from '../errors.ts';
import { decryptSecret, encryptSecret, keyId } from '../plugins/crypto.ts';
import type { ActionInput, ExternalAction, Json } from '../runner/actions.ts';

const aad = (workspaceId: string) => `email-settings:${workspaceId}`;

export interface EmailSettingsInput {
  smtp_url: string;
  from: string;
}

/** Stores a workspace's SMTP settings, the URL sealed (it carries the password). */
export async function putEmailSettings(db: Db, secret: Buffer, workspaceId: string, input: EmailSettingsInput, now: Date): Promise<void> {
  const host = new URL(input.smtp_url).hostname;
  await db.raw(
    `INSERT INTO email_settings (workspace_id, smtp_url_sealed, key_id, smtp_host, from_address, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id) DO UPDATE SET smtp_url_sealed = EXCLUDED.smtp_url_sealed, key_id = EXCLUDED.key_id,
       smtp_host = EXCLUDED.smtp_host, from_address = EXCLUDED.from_address, updated_at = EXCLUDED.updated_at`,
    [workspaceId, encryptSecret(secret, input.smtp_url, aad(workspaceId)), keyId(secret), host, input.from, now],
  );
}

/** Key rotation: re-seals every workspace's SMTP URL sealed under `oldKey` with `newKey`. Returns how many. */
export async function reencryptEmailSettings(db: Db, oldKey: Buffer, newKey: Buffer): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx('email_settings').where({ key_id: keyId(oldKey) }).forUpdate().select<{ workspace_id: string; smtp_url_sealed: string }[]>('workspace_id', 'smtp_url_sealed');
    for (const r of rows) {
      const url = decryptSecret(oldKey, r.smtp_url_sealed, aad(r.workspace_id));
      await tx('email_settings').where({ workspace_id: r.workspace_id }).update({ smtp_url_sealed: encryptSecret(newKey, url, aad(r.workspace_id)), key_id: keyId(newKey) });
    }
    return rows.length;
  });
}

/** What the API may show: never the URL or its password. */
export async function describeEmailSettings(db: Db, workspaceId: string) {
  const row = await db('email_settings').where({ workspace_id: workspaceId }).first<{ smtp_host: string; from_address: string; updated_at: Date }>();
  return row ? { configured: true, smtp_host: row.smtp_host, from: row.from_address, updated_at: row.updated_at.toISOString() } : { configured: false };
}

/** A contact is suppressed when it unsubscribed (tag `unsubscribed`, or `properties.unsubscribed` true) or has no email. */
export function suppression(contact: Readonly<Record<string, unknown>>): string | null {
  if (typeof contact.email !== 'string' || contact.email === '') return 'the contact has no email address';
  if (Array.isArray(contact.tags) && contact.tags.includes('unsubscribed')) return 'the contact is tagged unsubscribed';
  const props = contact.properties as Record<string, unknown> | undefined;
  if (props?.unsubscribed === true) return 'the contact unsubscribed';
  return null;
}

/**
 * `action.send_email`: Liquid-rendered subject and body (rendered by the executor), sent through the workspace's
 * SMTP server. The Message-ID is derived from the step's idempotency key, so a retry after a crash is recognisable as
 * the same message. Suppressed contacts are skipped (the step completes with `suppressed`), never sent to.
 */
export function createEmailAction(deps: { db: Db; secret: Buffer }): ExternalAction {
  const transports = new Map<string, Transporter>();
  return {
    async run(input: ActionInput): Promise<{ output: Json }> {
      const reason = suppression(input.contact);
      if (reason) return { output: { suppressed: true, reason } };
      const row = await deps.db('email_settings').where({ workspace_id: input.workspaceId }).first<{ smtp_url_sealed: string; from_address: string }>();
      if (!row) {
        throw new CairnError('CAIRN_ERR_STEP_FAILED', 'this workspace has no email settings: an admin sets them with PUT /v1/settings/email');
      }
      const url = decryptSecret(deps.secret, row.smtp_url_sealed, aad(input.workspaceId));
      const cacheKey = createHash('sha256').update(`${input.workspaceId}:${url}`).digest('hex');
      let transport = transports.get(cacheKey);
      if (!transport) {
        transport = nodemailer.createTransport(url);
        transports.set(cacheKey, transport);
      }
      const c = input.config as { subject: string; html?: string; text?: string; from?: string; category?: string };
      const messageId = `<${createHash('sha256').update(input.idempotencyKey).digest('hex').slice(0, 32)}@cairn>`;
      try {
        const info = await transport.sendMail({
          from: c.from ?? row.from_address,
          to: input.contact.email as string,
          subject: c.subject,
          html: c.html,
          text: c.text,
          messageId,
          headers: { 'X-Cairn-Idempotency-Key': input.idempotencyKey, ...(c.category ? { 'X-Cairn-Category': c.category } : {}) },
        });
        return { output: { message_id: messageId, to: input.contact.email as string, accepted: (info.accepted?.length ?? 0) > 0 } };
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        // 5xx from the server is permanent (bad recipient, refused); 4xx and connection trouble are worth a retry.
        const retryable = code === undefined || code < 500;
        throw new CairnError('CAIRN_ERR_STEP_FAILED', `sending email to ${input.contact.email as string} failed: ${(err as Error).message}`, { cause: err, retryable });
      }
    },
  };
}
