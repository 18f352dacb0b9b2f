import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Db } from '../db/index.ts';
import { CairnError } from '../errors.ts';
import { decryptSecret, encryptSecret, keyId } from '../secrets/seal.ts';
import type { ActionInput, ActionOutcome, ExternalAction } from '../runner/ports.ts';
import type { FlowCache } from '../runner/postgres/flows/flow-cache.ts';
import { zoneOf } from '../time/zones.ts';
import { markSent, releaseSend, reserveSend, type SentMessage } from './email-ledger.ts';
import { beforeBodyEnd, escapeHtml, linkKey, rewriteLinks, signLink } from './email-links.ts';
import { DEFAULT_CATEGORY, loadEmailPolicy, quietUntil, TRANSACTIONAL } from './email-policy.ts';
import { suppressedFor } from './email-suppression.ts';
import { createGuardedTransport, smtpFailure, smtpStepError, type SmtpGuard } from './smtp-transport.ts';

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

/** Says what GET /v1/settings/email shows: never the URL or its password; without SMTP, that mail goes to the outbox. */
export async function describeEmailSettings(db: Db, workspaceId: string) {
  const row = await db('email_settings').where({ workspace_id: workspaceId }).first<{ smtp_host: string; from_address: string; updated_at: Date }>();
  if (!row) {
    return {
      configured: false, delivery: 'outbox' as const,
      notice: 'mail is not being delivered: with no SMTP server configured, messages go to the development outbox (GET /v1/outbox); an admin sets SMTP with PUT /v1/settings/email',
    };
  }
  return { configured: true, delivery: 'smtp' as const, smtp_host: row.smtp_host, from: row.from_address, updated_at: row.updated_at.toISOString() };
}

/** Back to the development outbox (the sealed SMTP URL is deleted). */
export async function deleteEmailSettings(db: Db, workspaceId: string): Promise<void> {
  await db('email_settings').where({ workspace_id: workspaceId }).delete();
}

/**
 * The settings page's "send test email": one message through the stored SMTP server, now. A refusal is a 422 that
 * carries the server's answer (never the URL or its password).
 */
export async function sendTestEmail(db: Db, secret: Buffer, guard: SmtpGuard, workspaceId: string, to: string, now: Date): Promise<{ sent: true; to: string; smtp_host: string }> {
  const row = await db('email_settings').where({ workspace_id: workspaceId }).first<{ smtp_url_sealed: string; from_address: string; smtp_host: string } | undefined>();
  if (!row) throw new CairnError('CAIRN_ERR_CONFLICT', 'no SMTP server is configured (mail goes to the development outbox): set one with PUT /v1/settings/email first');
  const transport = createGuardedTransport(decryptSecret(secret, row.smtp_url_sealed, aad(workspaceId)), guard);
  try {
    await transport.sendMail({ from: row.from_address, to, subject: 'Cairn test email', text: 'This test message shows that Cairn can send through your SMTP server.', date: now });
    return { sent: true, to, smtp_host: row.smtp_host };
  } catch (err) {
    throw new CairnError('CAIRN_ERR_UNPROCESSABLE', `the test message was not delivered: ${smtpFailure(err, row.smtp_host).message}`, { errors: [{ path: '/to', message: 'not delivered' }] });
  } finally {
    transport.close();
  }
}

/** A contact is suppressed when it unsubscribed (tag `unsubscribed`, or `properties.unsubscribed` true) or has no email. */
export function suppression(contact: Readonly<Record<string, unknown>>): string | null {
  if (typeof contact.email !== 'string' || contact.email === '') return 'the contact has no email address';
  if (Array.isArray(contact.tags) && contact.tags.includes('unsubscribed')) return 'the contact is tagged unsubscribed';
  const props = contact.properties as Record<string, unknown> | undefined;
  if (props?.unsubscribed === true) return 'the contact unsubscribed';
  return null;
}

/** The sender used when the workspace has no SMTP settings (outbox only). */
const OUTBOX_FROM = 'Cairn (development outbox) <outbox@cairn.invalid>';

export interface EmailActionDeps {
  db: Db;
  secret: Buffer;
  now: () => Date;
  /** Compiled flows (already loaded by the action runner): a flow may override the quiet hours. */
  flows: FlowCache;
  /** Base URL of unsubscribe, preference and tracking links. */
  publicUrl: string;
  /** Which SMTP server addresses may be reached (smtp-transport.ts). */
  smtp: SmtpGuard;
}

type EmailConfig = { subject: string; html?: string; text?: string; from?: string; category?: string };

/**
 * `action.send_email`: Liquid-rendered subject and body (rendered by the action runner). In order:
 * suppression (skipped) → quiet hours on the contact's clock (deferred: the run sleeps until they end, then comes
 * back here) → frequency caps (skipped, race-free) → the message, with the unsubscribe link and one-click headers
 * and (when tracking is on) the open pixel and signed click links → SMTP, or the development outbox when the
 * workspace has no SMTP settings. Transactional mail ignores quiet hours, caps and unsubscribes.
 * The Message-ID is derived from the step's idempotency key, and a message recorded as sent is never sent again.
 */
export function createEmailAction(deps: EmailActionDeps): ExternalAction {
  const transports = new Map<string, Transporter>();
  const links = linkKey(deps.secret);
  const transportFor = (workspaceId: string, url: string) => {
    const cacheKey = createHash('sha256').update(`${workspaceId}:${url}`).digest('hex');
    let transport = transports.get(cacheKey);
    if (!transport) {
      transport = createGuardedTransport(url, deps.smtp);
      transports.set(cacheKey, transport);
    }
    return transport;
  };

  return {
    async run(input: ActionInput): Promise<ActionOutcome> {
      const c = input.config as EmailConfig;
      const category = c.category ?? DEFAULT_CATEGORY;
      const contactId = input.contact.id as string;
      const marketing = category !== TRANSACTIONAL;
      const reason = suppression(input.contact) ?? (await suppressedFor(deps.db, input.workspaceId, contactId, category));
      if (reason) return { skipped: true, output: { skipped: true, suppressed: true, reason } };

      const now = deps.now();
      const policy = await loadEmailPolicy(deps.db, input.workspaceId);
      if (marketing) {
        const flowQuiet = deps.flows.get(input.flowId, input.version)?.quietHours;
        const quiet = flowQuiet === undefined ? policy.quiet_hours : flowQuiet;
        const until = quiet ? quietUntil(now, quiet, zoneOf(input.contact.timezone as string | null)) : null;
        if (until) {
          return { deferUntil: until, output: { deferred_until: until.toISOString(), reason: `quiet hours ${quiet!.start}–${quiet!.end} on the contact's clock` } };
        }
      }

      const slot = await reserveSend(deps.db, {
        workspaceId: input.workspaceId, runId: input.runId, nodeId: input.nodeId, contactId, category,
        caps: marketing ? policy.frequency_caps : [], now,
      });
      const messageId = `<${createHash('sha256').update(input.idempotencyKey).digest('hex').slice(0, 32)}@cairn>`;
      if (slot.kind === 'capped') return { skipped: true, output: { skipped: true, capped: true, reason: slot.reason } };
      if (slot.kind === 'already_sent') return { output: { message_id: messageId, to: slot.to, accepted: true, transport: slot.transport } };

      const settings = await deps.db('email_settings').where({ workspace_id: input.workspaceId }).first<{ smtp_url_sealed: string; from_address: string; smtp_host: string } | undefined>();
      const to = input.contact.email as string;
      const message = composeMessage(c, {
        to, from: c.from ?? settings?.from_address ?? OUTBOX_FROM, messageId, idempotencyKey: input.idempotencyKey, category,
        links: marketing ? {
          sign: (claim) => `${deps.publicUrl}/v1/email/${claim.k === 'u' ? 'unsubscribe' : claim.k === 'o' ? 'open' : 'click'}/${signLink(links, claim)}`,
          preferences: `${deps.publicUrl}/v1/email/preferences/${signLink(links, { k: 'u', w: input.workspaceId, c: contactId })}`,
          workspaceId: input.workspaceId, contactId, runId: input.runId, nodeId: input.nodeId, tracking: policy.tracking,
        } : null,
      });

      if (!settings) {
        await markSent(deps.db, input.workspaceId, slot.id, { ...message, transport: 'outbox' }, now);
        return { output: { message_id: messageId, to, accepted: true, transport: 'outbox' } };
      }
      const url = decryptSecret(deps.secret, settings.smtp_url_sealed, aad(input.workspaceId));
      try {
        const info = await transportFor(input.workspaceId, url).sendMail({
          from: message.from, to, subject: message.subject, html: message.html, text: message.text, messageId, date: now, headers: message.headers,
        });
        await markSent(deps.db, input.workspaceId, slot.id, { ...message, transport: 'smtp' }, now);
        return { output: { message_id: messageId, to, accepted: (info.accepted?.length ?? 0) > 0, transport: 'smtp' } };
      } catch (err) {
        await releaseSend(deps.db, input.workspaceId, slot.id);
        throw smtpStepError(err, settings.smtp_host, to);
      }
    },
  };
}

interface MessageLinks {
  sign: (claim: Parameters<typeof signLink>[1]) => string;
  preferences: string;
  workspaceId: string;
  contactId: string;
  runId: string;
  nodeId: string;
  tracking: boolean;
}

/**
 * The message as sent. Non-transactional mail gets `List-Unsubscribe` (RFC 2369, the signed one-click URL) with
 * `List-Unsubscribe-Post` (RFC 8058), a footer linking the preference page, and — with tracking on — every
 * http(s) link of the HTML body rewritten to a signed click URL plus a 1×1 open pixel.
 */
export function composeMessage(
  c: EmailConfig,
  m: { to: string; from: string; messageId: string; idempotencyKey: string; category: string; links: MessageLinks | null },
): Omit<SentMessage, 'transport'> {
  const headers: Record<string, string> = { 'X-Cairn-Idempotency-Key': m.idempotencyKey, 'X-Cairn-Category': m.category };
  let html = c.html;
  let text = c.text;
  const l = m.links;
  if (l) {
    const ids = { w: l.workspaceId, c: l.contactId };
    headers['List-Unsubscribe'] = `<${l.sign({ k: 'u', ...ids })}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    if (html !== undefined) {
      if (l.tracking) html = rewriteLinks(html, (u) => l.sign({ k: 'c', ...ids, r: l.runId, n: l.nodeId, u }));
      const footer = `<p style="font-size:12px;color:#666">You receive this because you are on our list. <a href="${escapeHtml(l.preferences)}">Unsubscribe or change your email preferences</a>.</p>`;
      const pixel = l.tracking ? `<img src="${escapeHtml(l.sign({ k: 'o', ...ids, r: l.runId, n: l.nodeId }))}" width="1" height="1" alt="" style="display:none">` : '';
      html = beforeBodyEnd(html, footer + pixel);
    }
    if (text !== undefined || html === undefined) text = `${text ?? ''}\n\n--\nUnsubscribe or change your email preferences: ${l.preferences}\n`;
  }
  return { to: m.to, from: m.from, subject: c.subject, html, text, headers };
}
