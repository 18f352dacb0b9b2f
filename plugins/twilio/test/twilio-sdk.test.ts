import { fileURLToPath } from 'node:url';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/**
 * The plugin's request against the one Twilio's own Node library (`twilio`, a dev dependency of this test only)
 * sends for the same SMS, both captured by one local server standing in for api.twilio.com: method, path, query,
 * content type, parsed form body and Authorization header must match. The library's own HTTP client sends the
 * request; only its host is pointed at the local server.
 */
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-compare-token-1';
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = await startTestServer((_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued', account_sid: SID })));
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { account_sid: SID, auth_token: TOKEN, from_number: '+15550001111', api_base_url: server.url },
  });
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

/** Twilio's own request client, with only the API host replaced by the local server. */
function localRequestClient(): InstanceType<typeof twilio.RequestClient> {
  const own = new twilio.RequestClient();
  const request = (opts: { uri: string }) => own.request({ ...opts, uri: opts.uri.replace('https://api.twilio.com', server.url) } as Parameters<typeof own.request>[0]);
  return Object.assign(Object.create(own) as typeof own, { request });
}

describe('twilio plugin vs the twilio package', () => {
  it('send_sms sends what client.messages.create sends for the same SMS', async () => {
    const client = twilio(SID, TOKEN, { httpClient: localRequestClient() });
    const msg = { to: '+15557654321', from: '+15550001111', body: 'Your code is 4711 — reply STOP to opt out' };
    expect((await client.messages.create(msg)).sid).toBe('SM0123456789abcdef0123456789abcdef');
    expect(await plugin.run('send_sms', { to: msg.to, body: msg.body })).toEqual({ sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued' });
    expect(server.requests).toHaveLength(2);
    const [official, ours] = server.requests;
    expect(ours).toEqual(official);
    expect(ours).toMatchObject({ method: 'POST', path: `/2010-04-01/Accounts/${SID}/Messages.json`, contentType: 'application/x-www-form-urlencoded' });
  });
});
