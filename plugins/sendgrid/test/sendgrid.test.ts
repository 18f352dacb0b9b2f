import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/** A local stand-in for api.sendgrid.com checking v3 mail/send: bearer key, JSON shape, content order. */
const KEY = 'SG.test-key.abcdef';
const received: Record<string, unknown>[] = [];
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = await startTestServer((req, res, raw) => {
    const fail = (status: number, message: string, field: string | null = null) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message, field, help: null }] }));
    if (req.headers.authorization !== `Bearer ${KEY}`) return fail(401, 'The provided authorization grant is invalid, expired, or revoked');
    if (req.method !== 'POST' || req.url !== '/v3/mail/send') return fail(404, 'not found');
    if (!req.headers['content-type']?.startsWith('application/json')) return fail(415, 'Content-Type should be application/json.');
    const body = JSON.parse(raw) as { personalizations?: { to?: { email: string }[] }[]; from?: { email?: string }; subject?: string; content?: { type: string; value: string }[] };
    if (!body.personalizations?.[0]?.to?.[0]?.email) return fail(400, 'The to array is required for all personalization objects, and must have at least one email object with a valid email address.', 'personalizations.0.to');
    if (!body.from?.email) return fail(400, 'The from object must be provided for every email send.', 'from');
    if (!body.subject) return fail(400, 'The subject is required.', 'subject');
    if (body.content?.length && body.content.length > 1 && body.content[0]!.type !== 'text/plain') return fail(400, 'If present, text/plain content must be first, followed by any other content.', 'content');
    if (body.personalizations[0]!.to![0]!.email === 'throttled@example.com') return fail(429, 'too many requests');
    received.push(body as Record<string, unknown>);
    res.writeHead(202, { 'x-message-id': 'msg_sg_1' }).end();
  });
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { api_key: KEY, from_email: 'hello@cairn.example', api_base_url: server.url },
  });
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('sendgrid send_email', () => {
  it("sends text and HTML (text first) to the contact's email with the bearer key", async () => {
    const out = await plugin.run('send_email', { subject: 'Welcome', text: 'Hi Ana', html: '<p>Hi Ana</p>', from_name: 'Cairn', categories: ['onboarding'] }, { contact: { email: 'ana@example.com' }, idempotencyKey: 'run-2:mail' });
    expect(out).toEqual({ message_id: 'msg_sg_1', status: 202 });
    expect(received.at(-1)).toEqual({
      personalizations: [{ to: [{ email: 'ana@example.com' }] }],
      from: { email: 'hello@cairn.example', name: 'Cairn' },
      subject: 'Welcome',
      content: [{ type: 'text/plain', value: 'Hi Ana' }, { type: 'text/html', value: '<p>Hi Ana</p>' }],
      categories: ['onboarding'],
      custom_args: { cairn_step: 'run-2:mail' },
    });
  });

  it('the EU host is allowed by the manifest and chosen by the region credential', async () => {
    expect(plugin.manifest.allowedHosts).toEqual(['api.sendgrid.com', 'api.eu.sendgrid.com']);
    const r = await plugin.call('send_email', { subject: 'Hi', text: 'x' }, { contact: { email: 'ana@example.com' }, secrets: { api_key: KEY, from_email: 'hello@cairn.example', region: 'eu' } });
    // No network to SendGrid from the test: the request passed the host check and failed on DNS/connect.
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).not.toBe('FETCH_HOST_NOT_ALLOWED');
      expect(r.error.message).toContain('api.eu.sendgrid.com');
    }
  });

  it('SendGrid errors become step errors naming the field; 429 is retryable', async () => {
    await expect(plugin.run('send_email', { subject: 'x', text: 'y', to: 'throttled@example.com' })).rejects.toMatchObject({ code: 'SENDGRID_HTTP_429', retryable: true });
    await expect(plugin.run('send_email', { subject: 'x', text: 'y', to: 'a@example.com' }, { secrets: { api_key: 'SG.wrong', from_email: 'f@example.com', api_base_url: server.url } })).rejects.toMatchObject({ code: 'SENDGRID_HTTP_401', retryable: false });
    await expect(plugin.run('send_email', { subject: 'x' }, { contact: { email: 'a@example.com' } })).rejects.toMatchObject({ code: 'SENDGRID_NO_CONTENT' });
    await expect(plugin.run('send_email', { subject: 'x', text: 'y' }, { contact: { email: null } })).rejects.toMatchObject({ code: 'SENDGRID_NO_RECIPIENT' });
  });
});
