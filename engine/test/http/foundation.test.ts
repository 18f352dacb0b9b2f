import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, json, type Harness } from './harness.ts';

const problemType = 'application/problem+json';

describe('HTTP foundation: bad input is a problem+json 4xx, never a 5xx', () => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness(); });
  afterAll(async () => { await h.close(); });

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url, headers: { ...bearer(h.ws.a.keys.admin), ...headers }, payload: payload as never });

  it('malformed JSON → 400 CAIRN_ERR_BAD_JSON', async () => {
    const res = await post('/v1/events', '{"type": "x", ', { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain(problemType);
    expect(json(res)).toMatchObject({ status: 400, code: 'CAIRN_ERR_BAD_JSON', title: 'Malformed JSON' });
  });

  it('a 2 MiB body → 413', async () => {
    const big = { type: 'x', contact: { email: 'a@b.co' }, properties: { blob: 'x'.repeat(2 * 1024 * 1024) } };
    const res = await post('/v1/events', big);
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toContain(problemType);
    expect(json(res).code).toBe('CAIRN_ERR_BODY_TOO_LARGE');
  });

  it('unknown properties and wrong types → 400 with JSON Pointer paths', async () => {
    const res = await post('/v1/events/batch', { events: [{ type: 'ok', contact: { email: 'a@b.co' } }, { type: 7, contact: { email: 'a@b.co', nickname: 'z' }, colour: 'red' }] });
    expect(res.statusCode).toBe(400);
    const body = json(res);
    expect(body.code).toBe('CAIRN_ERR_VALIDATION');
    const paths = body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/events/1/type', '/events/1/contact/nickname', '/events/1/colour']));
    for (const e of body.errors) expect(typeof e.message).toBe('string');
  });

  it('a missing required field names the field in its path', async () => {
    const res = await post('/v1/events', { contact: { email: 'a@b.co' } });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors).toContainEqual({ path: '/type', message: 'is required' });
  });

  it('a body that is not JSON at all → 415', async () => {
    const res = await post('/v1/events', 'type=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.statusCode).toBe(415);
    expect(json(res).code).toBe('CAIRN_ERR_UNSUPPORTED_MEDIA');
  });

  it('a 100,000-character property string → 400 naming its path and the documented limit', async () => {
    const res = await post('/v1/contacts', { email: 'long@x.co', properties: { bio: 'b'.repeat(100_000) } });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors).toEqual([{ path: '/properties/bio', message: 'is a string of 100000 characters; the limit is 65536' }]);
    const inEvent = await post('/v1/events', { type: 'x', contact: { email: 'long@x.co' }, properties: { deep: { note: 'n'.repeat(100_000) } } });
    expect(inEvent.statusCode).toBe(400);
    expect(json(inEvent).errors[0].path).toBe('/properties/deep/note');
    const count = await h.t.db('contacts').where({ workspace_id: h.ws.a.id }).count<{ count: string }[]>('* as count');
    expect(Number(count[0]!.count)).toBe(0);
  });

  it('properties nested deeper than 10 levels → 400', async () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 12; i++) deep = { d: deep };
    const res = await post('/v1/contacts', { email: 'deep@x.co', properties: deep });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors[0].message).toMatch(/nested .* the limit is 10/);
  });

  it('JSON nested 100,000 levels deep is refused with a 4xx, not a crash', async () => {
    const res = await post('/v1/events', `{"type":"x","contact":{"email":"a@b.co"},"properties":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`, { 'content-type': 'application/json' });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
  });

  it('__proto__ keys are refused with 400', async () => {
    const res = await post('/v1/contacts', '{"email":"p@x.co","properties":{"__proto__":{"admin":true}}}', { 'content-type': 'application/json' });
    expect(res.statusCode).toBe(400);
  });

  it('a NUL character (\\u0000) anywhere in the body → 400 with its path, not a database error', async () => {
    const inProps = await post('/v1/events', '{"type":"x","contact":{"email":"nul@x.co"},"properties":{"a":{"b":"x\\u0000y"}}}', { 'content-type': 'application/json' });
    expect(inProps.statusCode).toBe(400);
    expect(json(inProps).errors).toEqual([{ path: '/properties/a/b', message: 'contains \\u0000' }]);
    const inType = await post('/v1/events', '{"type":"x\\u0000","contact":{"email":"nul@x.co"}}', { 'content-type': 'application/json' });
    expect(inType.statusCode).toBe(400);
    expect(json(inType).errors[0].path).toBe('/type');
    const escapedBackslash = await post('/v1/events', '{"type":"x","contact":{"email":"nul@x.co"},"properties":{"re":"\\\\u0000"}}', { 'content-type': 'application/json' });
    expect(escapedBackslash.statusCode).toBe(202);
  });

  it('occurred_at outside 1970..9999 → 400 with its path', async () => {
    for (const at of ['0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z']) {
      const res = await post('/v1/events', { type: 'x', contact: { email: 'old@x.co' }, occurred_at: at });
      expect(res.statusCode).toBe(400);
      expect(json(res).errors[0].path).toBe('/occurred_at');
    }
  });

  it('unknown routes → 404 problem+json', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/no-such-thing', headers: bearer(h.ws.a.keys.admin) });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain(problemType);
    expect(json(res).code).toBe('CAIRN_ERR_NOT_FOUND');
  });

  it('a path id that is not a UUID → 404, never a database error', async () => {
    for (const id of ['123', "1'; drop table contacts;--", 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']) {
      const res = await h.app.inject({ method: 'GET', url: `/v1/contacts/${encodeURIComponent(id)}`, headers: bearer(h.ws.a.keys.admin) });
      expect(res.statusCode).toBe(404);
    }
  });

  it('bad query parameters → 400 (limit over 500, bad cursor)', async () => {
    const over = await h.app.inject({ method: 'GET', url: '/v1/contacts?limit=501', headers: bearer(h.ws.a.keys.admin) });
    expect(over.statusCode).toBe(400);
    const cursor = await h.app.inject({ method: 'GET', url: '/v1/contacts?cursor=not-a-cursor', headers: bearer(h.ws.a.keys.admin) });
    expect(cursor.statusCode).toBe(400);
    expect(json(cursor).errors[0].path).toBe('/cursor');
  });

  it('cursor pagination walks every contact once, in creation order', async () => {
    const emails = Array.from({ length: 7 }, (_, i) => `page${i}@x.co`);
    for (const email of emails) expect((await post('/v1/contacts', { email })).statusCode).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/contacts?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await h.app.inject({ method: 'GET', url, headers: bearer(h.ws.a.keys.viewer) });
      expect(res.statusCode).toBe(200);
      const body: { items: { email: string }[]; next_cursor: string | null } = json(res);
      seen.push(...body.items.map((c) => c.email));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(seen.filter((e) => e.startsWith('page'))).toEqual(emails);
    expect(pages).toBe(3);
  });

  it('OpenAPI document is served at /docs/json and Swagger UI at /docs', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = json(res);
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/contacts', '/v1/contacts/{id}', '/v1/events', '/v1/events/batch', '/v1/auth/login']));
    expect(doc.paths['/v1/events'].post.requestBody.content['application/json'].schema.required).toEqual(['type', 'contact']);
    expect(doc.paths['/v1/contacts/{id}'].get.responses['4XX'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(doc.components.schemas.Problem.required).toContain('errors');
    const ui = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('/healthz and /readyz answer without auth', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(json(ready)).toEqual({ status: 'ok' });
  });

  it('/readyz → 503 while a migration is pending', async () => {
    const last = await h.t.db('cairn_migrations').orderBy('id', 'desc').first();
    await h.t.db('cairn_migrations').where({ id: last.id }).delete();
    try {
      const res = await h.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(json(res).reason).toMatch(/pending migration/);
    } finally {
      await h.t.db('cairn_migrations').insert(last);
    }
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('rate limiting', () => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness({ rateLimit: { max: 3, timeWindowMs: 60_000 } }); });
  afterAll(async () => { await h.close(); });

  it('over the limit → 429 with Retry-After, counted per API key', async () => {
    const get = (key: string) => h.app.inject({ method: 'GET', url: '/v1/contacts', headers: bearer(key) });
    for (let i = 0; i < 3; i++) expect((await get(h.ws.a.keys.viewer)).statusCode).toBe(200);
    const limited = await get(h.ws.a.keys.viewer);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toContain(problemType);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-ratelimit-limit']).toBe('3');
    expect(json(limited).code).toBe('CAIRN_ERR_RATE_LIMITED');
    expect((await get(h.ws.a.keys.admin)).statusCode).toBe(200);
  });
});
