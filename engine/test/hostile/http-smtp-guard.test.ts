import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../engine-harness.ts';

/**
 * Issue 8, item 7: an admin's smtp_url goes through the network guard of webhooks. Before, it connected to
 * loopback (a full SMTP transaction), to the database port and to 169.254.169.254, and the differing errors
 * told which ports were open. Real SMTP server, real TCP listeners, the real settings route.
 */

let smtp: SMTPServer;
let smtpPort: number;
let connections = 0;
let delivered = 0;
let silent: Server;
let silentPort: number;
let closedPort: number;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onConnect: (_s, cb) => { connections++; cb(); },
    onData: (stream, _s, cb) => { stream.resume(); stream.on('end', () => { delivered++; cb(); }); },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  // An open port that is not SMTP: answers like an HTTP server, then hangs up.
  silent = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as AddressInfo).port;
  // A port nobody listens on.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
});

afterAll(async () => {
  await new Promise<void>((r) => smtp.close(() => r()));
  await new Promise((r) => silent.close(r));
});

async function testEmail(h: Harness, smtpUrl: string) {
  const put = await h.call('PUT', '/v1/settings/email', { smtp_url: smtpUrl, from: 'Acme <hello@acme.test>' });
  expect(put.status).toBe(200);
  return h.call('POST', '/v1/settings/email/test', { to: 'ops@acme.test' });
}

describe('without CAIRN_SMTP_ALLOW_PRIVATE_HOSTS (production)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ workers: false, env: { CAIRN_SMTP_ALLOW_PRIVATE_HOSTS: 'false' } }); });
  afterAll(async () => { await h.close(); });

  it('an SMTP server on loopback, a private or a link-local address is refused without connecting', async () => {
    const before = connections;
    for (const url of [`smtp://127.0.0.1:${smtpPort}`, `smtp://localhost:${smtpPort}`, `smtp://[::ffff:127.0.0.1]:${smtpPort}`, 'smtp://10.1.2.3:25', 'smtp://169.254.169.254:25']) {
      const res = await testEmail(h, url);
      expect(res.status).toBe(422);
      expect(res.body.detail).toMatch(/is on a loopback, private or link-local address .*CAIRN_SMTP_ALLOW_PRIVATE_HOSTS/);
    }
    expect(connections).toBe(before);
    expect(delivered).toBe(0);
  });
});

describe('with CAIRN_SMTP_ALLOW_PRIVATE_HOSTS (local development)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ workers: false, env: { CAIRN_SMTP_ALLOW_PRIVATE_HOSTS: 'true' } }); });
  afterAll(async () => { await h.close(); });

  it('link-local (cloud metadata) and the engine database stay refused', async () => {
    const db = new URL(h.ctx.databaseUrl);
    for (const url of ['smtp://169.254.169.254:25', 'smtp://[::ffff:a9fe:a9fe]:25', `smtp://${db.hostname}:${db.port || 5432}`]) {
      const res = await testEmail(h, url);
      expect(res.status).toBe(422);
      expect(res.body.detail).toMatch(/is on a loopback, private or link-local address \(or is a service of the engine\)/);
    }
  });

  it('a closed port and an open non-SMTP port answer the same message (no port mapping)', async () => {
    const closed = await testEmail(h, `smtp://127.0.0.1:${closedPort}`);
    const notSmtp = await testEmail(h, `smtp://127.0.0.1:${silentPort}`);
    expect(closed.status).toBe(422);
    expect(notSmtp.status).toBe(422);
    expect(closed.body.detail).toBe('the test message was not delivered: no SMTP conversation could be held with 127.0.0.1 (refused, timed out, TLS or greeting failed)');
    expect(notSmtp.body.detail).toBe(closed.body.detail);
  });

  it('a real SMTP server on loopback is reached', async () => {
    const res = await testEmail(h, `smtp://127.0.0.1:${smtpPort}`);
    expect(res).toMatchObject({ status: 200, body: { sent: true, to: 'ops@acme.test', smtp_host: '127.0.0.1' } });
    expect(delivered).toBe(1);
  });
});
