import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, type LoadedPlugin } from '@cairn/plugin-sdk/testing';

/**
 * The plugin's request against the one HubSpot's own Node library (`@hubspot/api-client`, a dev dependency of this
 * test only, with its `basePath` at a local server) sends for the same contact upsert
 * (`crm.contacts.batchApi.upsert`, idProperty email): method, path, query, content type, parsed body and the bearer
 * Authorization header must match.
 */
const TOKEN = 'pat-na1-compare-0000';
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
      const at = '2026-11-26T12:00:00.000Z';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        status: 'COMPLETE', startedAt: at, completedAt: at,
        results: [{ id: '101', properties: { email: 'ana@example.com' }, createdAt: at, updatedAt: at, archived: false, new: true }],
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [new URL(base).host],
    secrets: { api_base_url: base },
    auth: { accessToken: TOKEN },
  });
});
afterAll(async () => {
  await plugin.dispose();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('hubspot plugin vs @hubspot/api-client', () => {
  it('upsert_contact sends what crm.contacts.batchApi.upsert sends for the same contact', async () => {
    const properties = { firstname: 'Ana', lifecyclestage: 'lead' };
    const client = new Client({ accessToken: TOKEN, basePath: base, numberOfApiCallRetries: 0 });
    const official = await client.crm.contacts.batchApi.upsert({ inputs: [{ idProperty: 'email', id: 'ana@example.com', properties: { ...properties, email: 'ana@example.com' } }] });
    expect(official.results[0]!.id).toBe('101');
    expect(await plugin.run('upsert_contact', { properties }, { contact: { email: 'ana@example.com' } })).toEqual({ id: '101', created: true });
    expect(captured).toHaveLength(2);
    const [theirs, ours] = captured;
    expect(ours).toEqual(theirs);
    expect(ours).toMatchObject({ method: 'POST', path: '/crm/v3/objects/contacts/batch/upsert', contentType: 'application/json', authorization: `Bearer ${TOKEN}` });
  });
});
