import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/**
 * HubSpot's OAuth2 auth and the new_contact polling trigger against a local stand-in for api.hubapi.com: the CRM
 * search API (filterGroups on createdate with GTE, sorts, limit) and the account details the connection test reads.
 * The stand-in accepts one access token at a time; the harness plays the engine's part after a 401 (refresh).
 */
let token = 'oauth-access-1';
const requests: { path: string; body: any; authorization: string | undefined }[] = [];
const contacts: { id: string; properties: Record<string, string | null> }[] = [];
let server: TestServer;
let plugin: LoadedPlugin;
let refreshes = 0;
const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

function add(id: string, email: string | null, createdate: string) {
  contacts.push({ id, properties: { email, firstname: `F${id}`, lastname: null, createdate } });
}

beforeAll(async () => {
  add('101', 'old@example.com', '2026-01-01T10:00:00.000Z');
  add('102', 'older@example.com', '2025-12-01T10:00:00.000Z');
  server = await startTestServer((req, res, raw) => {
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const body = raw ? JSON.parse(raw) : null;
    requests.push({ path: req.url!, body, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { status: 'error', category: 'INVALID_AUTHENTICATION', message: 'expired' });
    if (req.method === 'GET' && req.url === '/account-info/v3/details') return send(200, { portalId: 4242, timeZone: 'Europe/Paris' });
    if (req.method === 'POST' && req.url === '/crm/v3/objects/contacts/search') {
      const f = body.filterGroups?.[0]?.filters?.[0];
      let found = contacts.filter((c) => !f || (f.propertyName === 'createdate' && f.operator === 'GTE' && Date.parse(c.properties.createdate!) >= Number(f.value)));
      const dir = body.sorts?.[0]?.direction === 'DESCENDING' ? -1 : 1;
      found = found.sort((a, b) => dir * (Date.parse(a.properties.createdate!) - Date.parse(b.properties.createdate!))).slice(0, body.limit ?? 10);
      return send(200, { total: found.length, results: found.map((c) => ({ ...c, createdAt: c.properties.createdate, archived: false })) });
    }
    send(404, { status: 'error', category: 'OBJECT_NOT_FOUND', message: 'unknown route' });
  });
  plugin = await loadPlugin({
    entry: ENTRY,
    testHosts: [server.host],
    secrets: { api_base_url: server.url },
    auth: { accessToken: token, refresh: () => { refreshes++; return token.startsWith('oauth-') ? token : null; } }, // null: the refresh failed
  });
});

afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('hubspot auth', () => {
  it('declares OAuth2 with HubSpot endpoints; the workspace stores its app client id and secret', () => {
    expect(plugin.manifest.authMethod).toEqual({
      kind: 'oauth2', test: true,
      oauth2: {
        authorizeUrl: 'https://app.hubspot.com/oauth/authorize', tokenUrl: 'https://api.hubapi.com/oauth/v1/token', revokeUrl: null,
        scopes: ['crm.objects.contacts.read', 'crm.objects.contacts.write'], pkce: false, clientAuth: 'body', scopeSeparator: ' ', authorizeParams: {},
      },
    });
    expect(plugin.manifest.auth).toMatchObject({ required: ['client_id', 'client_secret'] });
  });

  it('test connection reads the portal id with the access token', async () => {
    expect(await plugin.testAuth()).toEqual({ account: 'HubSpot portal 4242' });
    expect(requests.at(-1)!.authorization).toBe(`Bearer ${token}`);
  });

  it('a 401 (expired token) is refreshed once by the engine and the request repeated with the new token', async () => {
    token = 'oauth-access-2'; // HubSpot now accepts only the refreshed token
    expect(await plugin.testAuth()).toEqual({ account: 'HubSpot portal 4242' });
    expect(refreshes).toBe(1);
    expect(requests.slice(-2).map((r) => r.authorization)).toEqual(['Bearer oauth-access-1', 'Bearer oauth-access-2']);
  });
});

describe('hubspot new_contact polling trigger', () => {
  let cursor: unknown;

  it('the first poll only sets the cursor to the newest existing contact', async () => {
    const r = await plugin.poll('new_contact');
    expect(r).toEqual({ items: [], cursor: String(Date.parse('2026-01-01T10:00:00.000Z')) });
    expect(requests.at(-1)!.body).toEqual({ sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }], properties: ['email', 'firstname', 'lastname', 'createdate'], limit: 1 });
    cursor = r.cursor;
  });

  it('later polls list contacts created at or after the cursor, oldest first, as hubspot.contact.created events', async () => {
    add('103', 'new@example.com', '2026-01-02T08:00:00.000Z');
    add('104', null, '2026-01-02T09:00:00.000Z'); // no email: skipped, the cursor still moves past it
    add('105', 'newer@example.com', '2026-01-03T08:00:00.000Z');
    const r = await plugin.poll('new_contact', cursor as string);
    expect(requests.at(-1)!.body.filterGroups).toEqual([{ filters: [{ propertyName: 'createdate', operator: 'GTE', value: cursor }] }]);
    // GTE returns the contact at the cursor again (101): the engine drops ids it has seen.
    expect(r.items.map((i) => i.id)).toEqual(['101', '103', '105']);
    expect(r.items[1]).toEqual({
      id: '103', type: 'hubspot.contact.created', contact: { email: 'new@example.com' },
      properties: { hubspot_id: '103', firstname: 'F103', lastname: null }, occurred_at: '2026-01-02T08:00:00.000Z',
    });
    expect(r.cursor).toBe(String(Date.parse('2026-01-03T08:00:00.000Z')));
  });

  it('a HubSpot error answer fails the poll with its category (a 401 the refresh cannot cure is not retryable)', async () => {
    const saved = token;
    token = 'someone-else';
    await expect(plugin.poll('new_contact', '0')).rejects.toMatchObject({ code: 'HUBSPOT_INVALID_AUTHENTICATION', retryable: false });
    token = saved;
  });
});
