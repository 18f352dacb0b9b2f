import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SMTPTransportGetSocket, SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import { FetchError, resolveAllowed } from '@cairn/plugin-sdk/host';
import { CairnError } from '../errors.ts';

/**
 * SMTP connections obey the network guard of webhooks and plugin fetch (net-guard.ts): a workspace admin's
 * `smtp_url` never reaches loopback, private or link-local addresses (cloud metadata) or the engine's own
 * database, unless the operator allows private hosts for local development (CAIRN_SMTP_ALLOW_PRIVATE_HOSTS;
 * link-local and the database stay refused). The name is resolved and checked on every connection, and the
 * socket is opened to the checked address (TLS still verifies the certificate against the name).
 */
export interface SmtpGuard {
  allowPrivate: boolean;
  /** `address:port` never reachable (the engine's database). */
  deniedTargets: readonly string[];
}

const CONNECT_TIMEOUT_MS = 10_000;

export function createGuardedTransport(url: string, guard: SmtpGuard): Transporter {
  const getSocket: SMTPTransportGetSocket = (options, callback) => {
    const host = options.host ?? 'localhost';
    const port = Number(options.port) || (options.secure ? 465 : 587);
    resolveAllowed(host, String(port), { privateHosts: [], allowPrivate: guard.allowPrivate, deniedTargets: guard.deniedTargets }).then((target) => {
      const socket = net.connect({ host: target.address, port, family: target.family });
      const timer = setTimeout(() => socket.destroy(new Error('connection timed out')), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        callback(null, { connection: socket });
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        callback(err);
      });
    }, (err: unknown) => callback(err as Error));
  };
  return nodemailer.createTransport({ url, getSocket } as SMTPTransportOptions);
}

/**
 * The one way SMTP failures are described. Only an SMTP server's own reply (after its greeting) is passed on;
 * anything before that (refused, reset, timed out, TLS or greeting failure, something that is not an SMTP
 * server) gets one message, so the answers cannot be used to tell which ports of a host are open.
 */
export function smtpFailure(err: unknown, host: string): { message: string; retryable: boolean } {
  if (err instanceof FetchError && err.code === 'FETCH_PRIVATE_ADDRESS') {
    return {
      message: `the SMTP server ${host} is on a loopback, private or link-local address (or is a service of the engine); Cairn does not connect there (for local development: CAIRN_SMTP_ALLOW_PRIVATE_HOSTS=true)`,
      retryable: false,
    };
  }
  const e = err as { responseCode?: number; command?: string; response?: string; message?: string };
  if (typeof e.responseCode === 'number' && e.command !== undefined && e.command !== 'CONN') {
    // 5xx from the server is permanent (bad recipient, refused); 4xx is worth a retry.
    return { message: `the SMTP server ${host} answered: ${String(e.response ?? e.message).slice(0, 500)}`, retryable: e.responseCode < 500 };
  }
  return { message: `no SMTP conversation could be held with ${host} (refused, timed out, TLS or greeting failed)`, retryable: true };
}

/** `smtpFailure` as a step error. */
export function smtpStepError(err: unknown, host: string, to: string): CairnError {
  const f = smtpFailure(err, host);
  return new CairnError('CAIRN_ERR_STEP_FAILED', `sending email to ${to} failed: ${f.message}`, { cause: err, retryable: f.retryable });
}
