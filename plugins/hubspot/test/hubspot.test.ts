import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, type LoadedPlugin } from '@cairn/plugin-sdk/testing';

/** A local stand-in for api.hubapi.com: contacts by email, update via idProperty=email, create, bearer auth. */
const TOKEN = 'pat-na1-0000-test';
const contacts = new Map<string, { id: string; properties: Record<string, string> }>();
const calls: string[] = [];
let server: Server;
let plugin: LoadedPlugin;

beforeAll(async () => {
  contacts.set('ben@example.com', { id: '501', properties: { email: 'ben@example.com', firstname: 'Ben' } });
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const error = (status: number, category: string, message: string) => send(status, { status: 'error', message, category, correlationId: 'c0ffee' });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return error(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found.');
      if (req.headers['content-type'] !== 'application/json') return error(415, 'VALIDATION_ERROR', 'Unsupported media type');
      const url = new URL(req.url!, 'http://x');
      calls.push(`${req.method} ${url.pathname}${url.search}`);
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
        if (!/^[^@\s]+@[^@\s]+$/.test(body.properties.email ?? '')) return error(400, 'VALIDATION_ERROR', 'Property values were not valid: email');
        if (contacts.has(body.properties.email!)) return error(409, 'CONFLICT', `Contact already exists. Existing ID: ${contacts.get(body.properties.email!)!.id}`);
        const id = String(600 + contacts.size);
        contacts.set(body.properties.email!, { id, properties: body.properties });
        return send(201, { id, properties: body.properties, archived: false });
      }
      error(404, 'OBJECT_NOT_FOUND', 'unknown route');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [`127.0.0.1:${port}`],
    secrets: { access_token: TOKEN, api_base_url: `http://127.0.0.1:${port}` },
  });
});
afterAll(async () => {
  await plugin.dispose();
  server.close();
});

describe('hubspot upsert_contact', () => {
  it('creates a contact that does not exist (PATCH by email → 404 → POST)', async () => {
    const out = await plugin.run('upsert_contact', { properties: { firstname: 'Ana', lifecyclestage: 'lead' } }, { contact: { email: 'ana@example.com' } });
    expect(out).toEqual({ id: '601', created: true });
    expect(contacts.get('ana@example.com')!.properties).toEqual({ email: 'ana@example.com', firstname: 'Ana', lifecyclestage: 'lead' });
    expect(calls.slice(-2)).toEqual(['PATCH /crm/v3/objects/contacts/ana%40example.com?idProperty=email', 'POST /crm/v3/objects/contacts']);
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
