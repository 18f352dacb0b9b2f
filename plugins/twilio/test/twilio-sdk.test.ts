import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, type LoadedPlugin } from '@cairn/plugin-sdk/testing';

/**
 * The plugin's request against the one Twilio's own Node library (`twilio`, a dev dependency of this test only)
 * sends for the same SMS, both captured by one local server standing in for api.twilio.com: method, path, query,
 * content type, parsed form body and Authorization header must match. The library's own HTTP client sends the
 * request; only its host is pointed at the local server.
 */
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-compare-token-1';
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
        contentType: String(req.headers['content-type'] ?? '').split(';')[0]!.trim(), body: Object.fromEntries(new URLSearchParams(raw)), authorization: req.headers.authorization,
      });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued', account_sid: SID }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [new URL(base).host],
    secrets: { account_sid: SID, auth_token: TOKEN, from_number: '+15550001111', api_base_url: base },
  });
});
afterAll(async () => {
  await plugin.dispose();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Twilio's own request client, with only the API host replaced by the local server. */
function localRequestClient(): InstanceType<typeof twilio.RequestClient> {
  const own = new twilio.RequestClient();
  const request = (opts: { uri: string }) => own.request({ ...opts, uri: opts.uri.replace('https://api.twilio.com', base) } as Parameters<typeof own.request>[0]);
  return Object.assign(Object.create(own) as typeof own, { request });
}

describe('twilio plugin vs the twilio package', () => {
  it('send_sms sends what client.messages.create sends for the same SMS', async () => {
    const client = twilio(SID, TOKEN, { httpClient: localRequestClient() });
    const msg = { to: '+15557654321', from: '+15550001111', body: 'Your code is 4711 — reply STOP to opt out' };
    expect((await client.messages.create(msg)).sid).toBe('SM0123456789abcdef0123456789abcdef');
    expect(await plugin.run('send_sms', { to: msg.to, body: msg.body })).toEqual({ sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued' });
    expect(captured).toHaveLength(2);
    const [official, ours] = captured;
    expect(ours).toEqual(official);
    expect(ours).toMatchObject({ method: 'POST', path: `/2010-04-01/Accounts/${SID}/Messages.json`, contentType: 'application/x-www-form-urlencoded' });
  });
});
