import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/** A local stand-in for api.twilio.com checking the Messages API contract: path, Basic auth, form encoding. */
const SID = `AC${'a1'.repeat(16)}`;
const TOKEN = 'auth-token-0123456789';
const received: { form: Record<string, string>; headers: Record<string, string | string[] | undefined> }[] = [];
// What the stand-in has created (it answers the list endpoint from it), and how a POST to a number behaves.
const created: { sid: string; to: string; body: string; status: string; date_created: string }[] = [];
const lists: string[] = [];
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = await startTestServer((req, res, raw) => {
    const fail = (status: number, code: number, message: string) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
    const expectedAuth = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
    if (req.headers.authorization !== expectedAuth) return fail(401, 20003, 'Authentication Error - invalid username');
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'GET' && url.pathname === `/2010-04-01/Accounts/${SID}/Messages.json`) {
      lists.push(req.url!);
      const to = url.searchParams.get('To');
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messages: created.filter((m) => !to || m.to === to), page: 0 }));
    }
    if (req.method !== 'POST' || req.url !== `/2010-04-01/Accounts/${SID}/Messages.json`) return fail(404, 20404, 'The requested resource was not found');
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return fail(400, 21620, 'Invalid media type');
    const form = Object.fromEntries(new URLSearchParams(raw));
    if (!form.To) return fail(400, 21604, "A 'To' phone number is required.");
    if (!form.From && !form.MessagingServiceSid) return fail(400, 21603, "A 'From' phone number is required.");
    if (form.To === '+15005550001') return fail(400, 21211, "The 'To' number +15005550001 is not a valid phone number.");
    if (form.To === '+15005550009') return fail(503, 20503, 'Service unavailable');
    received.push({ form, headers: req.headers });
    const message = { sid: `SM${String(created.length).padStart(32, '0')}`, to: form.To, body: form.Body ?? '', status: 'queued', date_created: new Date().toUTCString() };
    created.push(message);
    // Created, but the answer is lost: the connection drops (as after a client timeout).
    if (form.To === '+15550000042') return void req.socket.destroy();
    // Created, but the answer comes too late: the client has timed out.
    if (form.To === '+15550000043') return void setTimeout(() => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(message)), 4000);
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: `SM${'b2'.repeat(16)}`, status: 'queued', to: form.To, body: form.Body }));
  });
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { account_sid: SID, auth_token: TOKEN, from_number: '+15557654321', api_base_url: server.url },
  });
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('twilio send_sms', () => {
  it('posts a form-encoded message with Basic auth and no idempotency header (Twilio honours none on this request)', async () => {
    const out = await plugin.run('send_sms', { to: '+15551234567', body: 'Hi Ana & welcome — 50% off!' }, { idempotencyKey: 'run-9:sms' });
    expect(out).toEqual({ sid: `SM${'b2'.repeat(16)}`, status: 'queued' });
    expect(received.at(-1)!.form).toEqual({ To: '+15551234567', From: '+15557654321', Body: 'Hi Ana & welcome — 50% off!' });
    expect(received.at(-1)!.headers['i-twilio-idempotency-token']).toBeUndefined();
    expect(plugin.store.size).toBe(0);
  });

  it('a retry after a send whose answer was lost does not send twice: it finds the message and returns it', async () => {
    const before = received.length;
    const first = await plugin.call('send_sms', { to: '+15550000042', body: 'Your code is 4242' }, { idempotencyKey: 'run-lost:sms' });
    expect(first.ok).toBe(false);
    if (!first.ok) expect(first.error.retryable).toBe(true);
    expect(received.length - before).toBe(1);
    // The engine retries the step with the same idempotency key.
    const retry = await plugin.run('send_sms', { to: '+15550000042', body: 'Your code is 4242' }, { idempotencyKey: 'run-lost:sms' });
    expect(received.length - before).toBe(1);
    expect(retry).toEqual({ sid: created.at(-1)!.sid, status: 'queued' });
    expect(lists.at(-1)).toContain('To=%2B15550000042');
    expect(plugin.store.size).toBe(0);
    // Another run (another key) with the same text is a new message.
    await plugin.call('send_sms', { to: '+15550000042', body: 'Your code is 4242' }, { idempotencyKey: 'run-other:sms' });
    expect(received.length - before).toBe(2);
  });

  it('a retry after a timed-out send does not send twice (the stand-in counts the POSTs)', async () => {
    // A 1.5 s wall limit: the plugin's fetch times out before the stand-in's 4 s answer.
    const slow = await loadPlugin({
      entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
      testHosts: [server.host],
      secrets: { account_sid: SID, auth_token: TOKEN, from_number: '+15557654321', api_base_url: server.url },
      limits: { wallTimeMs: 1500 },
    });
    try {
      const before = received.length;
      const first = await slow.call('send_sms', { to: '+15550000043', body: 'Slow hello' }, { idempotencyKey: 'run-slow:sms' });
      expect(first.ok).toBe(false);
      if (!first.ok) expect(first.error).toMatchObject({ code: 'FETCH_TIMEOUT', retryable: true });
      const retry = await slow.run('send_sms', { to: '+15550000043', body: 'Slow hello' }, { idempotencyKey: 'run-slow:sms' });
      expect(retry).toEqual({ sid: created.at(-1)!.sid, status: 'queued' });
      expect(received.length - before).toBe(1);
    } finally {
      await slow.dispose();
    }
  });

  it('regional hosts are allowed by the manifest and chosen by the region and edge credentials', async () => {
    expect(plugin.manifest.allowedHosts).toEqual(['api.twilio.com', '*.twilio.com']);
    const r = await plugin.call('send_sms', { to: '+15551234567', body: 'x' }, { secrets: { account_sid: SID, auth_token: TOKEN, from_number: '+15557654321', region: 'ie1', edge: 'dublin' } });
    // No network to Twilio from the test: the request got past allowedHosts and failed on DNS/connect, not on the host check.
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).not.toBe('FETCH_HOST_NOT_ALLOWED');
      // (the edge name is a credential value, so the engine's redaction hides it in the message)
      expect(r.error.message).toMatch(/cannot resolve api\.\S+\.ie1\.twilio\.com/);
    }
  });

  it('a Messaging Service replaces From', async () => {
    const service = `MG${'c3'.repeat(16)}`;
    await plugin.run('send_sms', { to: '+15551234567', body: 'x' }, { secrets: { account_sid: SID, auth_token: TOKEN, messaging_service_sid: service, api_base_url: server.url } });
    expect(received.at(-1)!.form).toEqual({ To: '+15551234567', Body: 'x', MessagingServiceSid: service });
  });

  it("Twilio's error codes become step errors; 5xx is retryable, a bad number is not; bad auth is reported", async () => {
    await expect(plugin.run('send_sms', { to: '+15005550001', body: 'x' })).rejects.toMatchObject({ code: 'TWILIO_21211', retryable: false, message: expect.stringContaining('not a valid phone number') });
    await expect(plugin.run('send_sms', { to: '+15005550009', body: 'x' })).rejects.toMatchObject({ code: 'TWILIO_20503', retryable: true });
    await expect(plugin.run('send_sms', { to: '+15551234567', body: 'x' }, { secrets: { account_sid: SID, auth_token: 'wrong-token-000000', from_number: '+1555', api_base_url: server.url } })).rejects.toMatchObject({ code: 'TWILIO_20003' });
  });
});
