import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startHarness, type Harness } from '../engine-harness.ts';

/** A real SMTP server on 127.0.0.1 that keeps every message it receives, parsed. */
export interface MailServer {
  port: number;
  mails: ParsedMail[];
  /** Points the harness workspace's SMTP settings at this server. */
  configure(h: Harness): Promise<void>;
  close(): Promise<void>;
}

export async function startMailServer(): Promise<MailServer> {
  const mails: ParsedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData: (stream, _s, cb) => { simpleParser(stream).then((m) => { mails.push(m); cb(); }, cb); },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  const port = (smtp.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    async configure(h) {
      const res = await h.call('PUT', '/v1/settings/email', { smtp_url: `smtp://127.0.0.1:${port}`, from: 'Acme <hello@acme.test>' });
      if (res.status !== 200) throw new Error(`PUT /v1/settings/email → ${res.status}`);
    },
    close: () => new Promise<void>((r) => smtp.close(() => r())),
  };
}

/** A harness on the test clock whose workspace sends through a fresh {@link MailServer}; `close` closes both. */
export interface MailHarness extends Harness {
  smtp: MailServer;
}

export async function startMailHarness(): Promise<MailHarness> {
  const h = await startHarness({ clock: 'manual' });
  let smtp: MailServer | undefined;
  try {
    smtp = await startMailServer();
    await smtp.configure(h);
  } catch (e) {
    await smtp?.close();
    await h.close();
    throw e;
  }
  const server = smtp;
  return { ...h, smtp: server, close: async () => { await h.close(); await server.close(); } };
}

export const recipients = (mails: ParsedMail[]) => mails.map((m) => (m.to as { text: string }).text);

/** A path under /v1 from an absolute link in a message (the harness answers through inject). */
export const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;

/** A one-node email flow after a trigger on `event`. */
export function emailFlow(name: string, event: string, config: Record<string, unknown>, settings: Record<string, unknown> = {}) {
  return {
    schema: 'cairn.flow/v1', name, settings: { reentry: 'always', goal: null, exit_on: [], ...settings },
    nodes: [
      { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } },
      { id: 'mail', type: 'action.send_email', position: { x: 0, y: 120 }, config },
      { id: 'after', type: 'action.tag', position: { x: 0, y: 240 }, config: { add: [`after-${name}`] } },
    ],
    edges: [{ id: 'e1', source: 'start', target: 'mail' }, { id: 'e2', source: 'mail', target: 'after' }],
  };
}
