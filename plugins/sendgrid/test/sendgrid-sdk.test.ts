import { fileURLToPath } from 'node:url';
import sgMail from '@sendgrid/mail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/**
 * The plugin's request against the one SendGrid's own Node library (`@sendgrid/mail`, a dev dependency of this test
 * only) sends for the same email, both captured by one local server standing in for api.sendgrid.com: method, path,
 * query, content type, parsed body and Authorization header must be the same.
 */
const KEY = 'SG.compare-key.abcdef';
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = await startTestServer((_req, res) => res.writeHead(202, { 'x-message-id': 'msg_cmp' }).end());
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { api_key: KEY, from_email: 'hello@cairn.example', api_base_url: server.url },
  });
  sgMail.setApiKey(KEY);
  // The library's own HTTP client (@sendgrid/client, untyped on MailService), pointed at the local server.
  (sgMail as unknown as { client: { setDefaultRequest(key: string, value: string): void } }).client.setDefaultRequest('baseUrl', `${server.url}/`);
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('sendgrid plugin vs @sendgrid/mail', () => {
  it('send_email sends what sgMail.send sends for the same email', async () => {
    const step = 'run-1:send';
    await sgMail.send({
      to: 'ana@example.com', from: { email: 'hello@cairn.example', name: 'Cairn' }, subject: 'Welcome, Ana',
      text: 'Hi Ana', html: '<p>Hi Ana</p>', categories: ['onboarding'], customArgs: { cairn_step: step },
    });
    await plugin.run('send_email', { subject: 'Welcome, Ana', text: 'Hi Ana', html: '<p>Hi Ana</p>', from_name: 'Cairn', categories: ['onboarding'] }, { contact: { email: 'ana@example.com' }, idempotencyKey: step });
    expect(server.requests).toHaveLength(2);
    const [official, ours] = server.requests;
    expect(ours).toEqual(official);
    expect(ours!.path).toBe('/v3/mail/send');
  });
});
