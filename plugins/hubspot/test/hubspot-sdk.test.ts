import { fileURLToPath } from 'node:url';
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/**
 * The plugin's request against the one HubSpot's own Node library (`@hubspot/api-client`, a dev dependency of this
 * test only, with its `basePath` at a local server) sends for the same contact upsert
 * (`crm.contacts.batchApi.upsert`, idProperty email): method, path, query, content type, parsed body and the bearer
 * Authorization header must match.
 */
const TOKEN = 'pat-na1-compare-0000';
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  const at = '2026-11-26T12:00:00.000Z';
  server = await startTestServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
    status: 'COMPLETE', startedAt: at, completedAt: at,
    results: [{ id: '101', properties: { email: 'ana@example.com' }, createdAt: at, updatedAt: at, archived: false, new: true }],
  })));
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { api_base_url: server.url },
    auth: { accessToken: TOKEN },
  });
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('hubspot plugin vs @hubspot/api-client', () => {
  it('upsert_contact sends what crm.contacts.batchApi.upsert sends for the same contact', async () => {
    const properties = { firstname: 'Ana', lifecyclestage: 'lead' };
    const client = new Client({ accessToken: TOKEN, basePath: server.url, numberOfApiCallRetries: 0 });
    const official = await client.crm.contacts.batchApi.upsert({ inputs: [{ idProperty: 'email', id: 'ana@example.com', properties: { ...properties, email: 'ana@example.com' } }] });
    expect(official.results[0]!.id).toBe('101');
    expect(await plugin.run('upsert_contact', { properties }, { contact: { email: 'ana@example.com' } })).toEqual({ id: '101', created: true });
    expect(server.requests).toHaveLength(2);
    const [theirs, ours] = server.requests;
    expect(ours).toEqual(theirs);
    expect(ours).toMatchObject({ method: 'POST', path: '/crm/v3/objects/contacts/batch/upsert', contentType: 'application/json', authorization: `Bearer ${TOKEN}` });
  });
});
