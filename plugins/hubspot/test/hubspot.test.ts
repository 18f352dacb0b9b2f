import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/**
 * A local stand-in for api.hubapi.com: contacts by email, bearer auth; batch upsert by idProperty=email (atomic,
 * as HubSpot's), and the older update-by-email (PATCH) and create (POST) routes, where create answers 409 when
 * the email exists — the race two concurrent PATCH-then-POST upserts lose. Reads and writes are spaced by a
 * few milliseconds so that concurrent requests overlap.
 */
const TOKEN = 'pat-na1-0000-test';
const contacts = new Map<string, { id: string; properties: Record<string, string> }>();
const calls: string[] = [];
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  contacts.set('ben@example.com', { id: '501', properties: { email: 'ben@example.com', firstname: 'Ben' } });
  server = await startTestServer(async (req, res, raw) => {
    await new Promise((r) => setTimeout(r, 20));
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const error = (status: number, category: string, message: string) => send(status, { status: 'error', message, category, correlationId: 'c0ffee' });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return error(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found.');
    if (req.headers['content-type'] !== 'application/json') return error(415, 'VALIDATION_ERROR', 'Unsupported media type');
    const url = new URL(req.url!, 'http://x');
    calls.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.method === 'POST' && url.pathname === '/crm/v3/objects/contacts/batch/upsert') {
      const { inputs } = JSON.parse(raw || '{}') as { inputs?: { idProperty?: string; id?: string; properties?: Record<string, string> }[] };
      if (!Array.isArray(inputs) || inputs.length === 0) return error(400, 'VALIDATION_ERROR', 'inputs is required');
      const results = [];
      for (const input of inputs) {
        if (input.idProperty !== 'email' || !input.id) return error(400, 'VALIDATION_ERROR', 'idProperty must be a unique property, here email');
        if (input.id === 'ratelimited@example.com') return error(429, 'RATE_LIMITS', 'You have reached your secondly limit.');
        if (!/^[^@\s]+@[^@\s]+$/.test(input.id)) return error(400, 'VALIDATION_ERROR', 'Property values were not valid: email');
        const found = contacts.get(input.id);
        const contact = found ?? { id: String(600 + contacts.size), properties: {} };
        Object.assign(contact.properties, input.properties, { email: input.id });
        contacts.set(input.id, contact);
        results.push({ id: contact.id, properties: contact.properties, new: !found, archived: false });
      }
      return send(200, { status: 'COMPLETE', results, startedAt: new Date().toISOString(), completedAt: new Date().toISOString() });
    }
    const body = JSON.parse(raw || '{}') as { properties?: Record<string, string> };
    if (!body.properties || typeof body.properties !== 'object') return error(400, 'VALIDATION_ERROR', 'properties is required');
    if (body.properties.email === 'ratelimited@example.com') return error(429, 'RATE_LIMITS', 'You have reached your secondly limit.');
    const m = /^\/crm\/v3\/objects\/contacts\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'PATCH' && m) {
      if (url.searchParams.get('idProperty') !== 'email') return error(400, 'VALIDATION_ERROR', 'expected idProperty=email');
      const found = contacts.get(decodeURIComponent(m[1]!));
      if (!found) return error(404, 'OBJECT_NOT_FOUND', 'resource not found');
      Object.assign(found.properties, body.properties);
      return send(200, { id: found.id, properties: found.properties, archived: false });
    }
    if (req.method === 'POST' && url.pathname === '/crm/v3/objects/contacts') {
      await new Promise((r) => setTimeout(r, 20));
      if (!/^[^@\s]+@[^@\s]+$/.test(body.properties.email ?? '')) return error(400, 'VALIDATION_ERROR', 'Property values were not valid: email');
      if (contacts.has(body.properties.email!)) return error(409, 'CONFLICT', `Contact already exists. Existing ID: ${contacts.get(body.properties.email!)!.id}`);
      const id = String(600 + contacts.size);
      contacts.set(body.properties.email!, { id, properties: body.properties });
      return send(201, { id, properties: body.properties, archived: false });
    }
    error(404, 'OBJECT_NOT_FOUND', 'unknown route');
  });
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { api_base_url: server.url },
    auth: { accessToken: TOKEN }, // what the engine hands an OAuth2 plugin after the workspace connected
  });
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('hubspot upsert_contact', () => {
  it('creates a contact that does not exist with one batch upsert by email', async () => {
    const out = await plugin.run('upsert_contact', { properties: { firstname: 'Ana', lifecyclestage: 'lead' } }, { contact: { email: 'ana@example.com' } });
    expect(out).toEqual({ id: '601', created: true });
    expect(contacts.get('ana@example.com')!.properties).toEqual({ email: 'ana@example.com', firstname: 'Ana', lifecyclestage: 'lead' });
    expect(calls.slice(-1)).toEqual(['POST /crm/v3/objects/contacts/batch/upsert']);
  });

  it('two concurrent upserts of one new email both succeed with the same contact (the stand-in 409s a racing create)', async () => {
    // The stand-in's own race, shown first: two concurrent creates of one email, the second is 409.
    const create = () => fetch(`${server.url}/crm/v3/objects/contacts`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ properties: { email: 'old-race@example.com' } }),
    });
    expect((await Promise.all([create(), create()])).map((r) => r.status).sort()).toEqual([201, 409]);
    const [a, b] = await Promise.all([
      plugin.run('upsert_contact', { email: 'race@example.com', properties: { firstname: 'Ra' } }),
      plugin.run('upsert_contact', { email: 'race@example.com', properties: { lastname: 'Ce' } }),
    ]);
    expect((a as { id: string }).id).toBe((b as { id: string }).id);
    expect([(a as { created: boolean }).created, (b as { created: boolean }).created].sort()).toEqual([false, true]);
    expect(contacts.get('race@example.com')!.properties).toEqual({ email: 'race@example.com', firstname: 'Ra', lastname: 'Ce' });
  });

  it('updates an existing contact by email', async () => {
    const out = await plugin.run('upsert_contact', { email: 'ben@example.com', properties: { lifecyclestage: 'customer' } });
    expect(out).toEqual({ id: '501', created: false });
    expect(contacts.get('ben@example.com')!.properties).toEqual({ email: 'ben@example.com', firstname: 'Ben', lifecyclestage: 'customer' });
  });

  it('HubSpot error categories become step errors; rate limits are retryable', async () => {
    await expect(plugin.run('upsert_contact', { email: 'ratelimited@example.com' })).rejects.toMatchObject({ code: 'HUBSPOT_RATE_LIMITS', retryable: true });
    await expect(plugin.run('upsert_contact', { email: 'not-an-email' })).rejects.toMatchObject({ code: 'HUBSPOT_VALIDATION_ERROR', retryable: false });
    await expect(plugin.run('upsert_contact', {}, { contact: { email: null } })).rejects.toMatchObject({ code: 'HUBSPOT_NO_EMAIL' });
  });
});
