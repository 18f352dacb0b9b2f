import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import sgMail from '@sendgrid/mail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, type LoadedPlugin } from '@cairn/plugin-sdk/testing';

/**
 * The plugin's request against the one SendGrid's own Node library (`@sendgrid/mail`, a dev dependency of this test
 * only) sends for the same email, both captured by one local server standing in for api.sendgrid.com: method, path,
 * query, content type, parsed body and Authorization header must be the same.
 */
const KEY = 'SG.compare-key.abcdef';
interface Captured { method: string; path: string; query: Record<string, string>; contentType: string; body: unknown; authorization: string | undefined }
const captured: Captured[] = [];
let server: Server;
let base: string;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://localhost');
      captured.push({
        method: req.method!, path: url.pathname, query: Object.fromEntries(url.searchParams),
        contentType: String(req.headers['content-type'] ?? '').split(';')[0]!.trim(), body: raw ? JSON.parse(raw) : null, authorization: req.headers.authorization,
      });
      res.writeHead(202, { 'x-message-id': 'msg_cmp' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [new URL(base).host],
    secrets: { api_key: KEY, from_email: 'hello@cairn.example', api_base_url: base },
  });
  sgMail.setApiKey(KEY);
  // The library's own HTTP client (@sendgrid/client, untyped on MailService), pointed at the local server.
  (sgMail as unknown as { client: { setDefaultRequest(key: string, value: string): void } }).client.setDefaultRequest('baseUrl', `${base}/`);
});
afterAll(async () => {
  await plugin.dispose();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('sendgrid plugin vs @sendgrid/mail', () => {
  it('send_email sends what sgMail.send sends for the same email', async () => {
    const step = 'run-1:send';
    await sgMail.send({
      to: 'ana@example.com', from: { email: 'hello@cairn.example', name: 'Cairn' }, subject: 'Welcome, Ana',
      text: 'Hi Ana', html: '<p>Hi Ana</p>', categories: ['onboarding'], customArgs: { cairn_step: step },
    });
    await plugin.run('send_email', { subject: 'Welcome, Ana', text: 'Hi Ana', html: '<p>Hi Ana</p>', from_name: 'Cairn', categories: ['onboarding'] }, { contact: { email: 'ana@example.com' }, idempotencyKey: step });
    expect(captured).toHaveLength(2);
    const [official, ours] = captured;
    expect(ours).toEqual(official);
    expect(ours!.path).toBe('/v3/mail/send');
  });
});
