import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, json, type Harness } from './harness.ts';

describe('contacts API', () => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness(); });
  afterAll(async () => { await h.close(); });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    h.app.inject({ method, url, headers: { ...bearer(h.ws.a.keys.editor), ...headers }, payload: payload as never });

  it('upsert: 201 created with the contract shape, then 200 updated matching case-insensitive email, properties merged', async () => {
    const created = await call('POST', '/v1/contacts', { email: 'Mia@Example.com', properties: { plan: 'free', seats: 3, nested: { a: 1, b: 2 } }, timezone: 'Europe/Paris' });
    expect(created.statusCode).toBe(201);
    const c = json(created);
    expect(Object.keys(c).sort()).toEqual(['created_at', 'email', 'external_id', 'id', 'lifecycle_stage', 'owner_id', 'properties', 'score', 'tags', 'timezone', 'updated_at']);
    expect(c).toMatchObject({ email: 'Mia@Example.com', external_id: null, tags: [], score: 0, owner_id: null, lifecycle_stage: null, timezone: 'Europe/Paris' });
    expect(new Date(c.created_at).toISOString()).toBe(c.created_at);

    const updated = await call('POST', '/v1/contacts', { email: 'mia@example.COM', external_id: 'crm-9', properties: { plan: 'pro', seats: null, nested: { b: null, c: 3 } } });
    expect(updated.statusCode).toBe(200);
    expect(json(updated)).toMatchObject({ id: c.id, external_id: 'crm-9', properties: { plan: 'pro', nested: { a: 1, c: 3 } } });

    const byExt = await call('POST', '/v1/contacts', { external_id: 'crm-9', properties: { x: true } });
    expect(byExt.statusCode).toBe(200);
    expect(json(byExt).id).toBe(c.id);
  });

  it('upsert needs an external_id or an email; timezone must be an IANA name', async () => {
    const none = await call('POST', '/v1/contacts', { properties: { a: 1 } });
    expect(none.statusCode).toBe(400);
    expect(json(none).errors).toEqual([{ path: '', message: 'a contact needs an external_id or an email' }]);
    const tz = await call('POST', '/v1/contacts', { email: 'tz@x.co', timezone: 'Mars/Olympus' });
    expect(tz.statusCode).toBe(400);
    expect(json(tz).errors[0].path).toBe('/timezone');
  });

  it('GET one, and lists filtered by email, external_id and tag', async () => {
    const a = json(await call('POST', '/v1/contacts', { email: 'list-a@x.co', external_id: 'la' }));
    const b = json(await call('POST', '/v1/contacts', { email: 'list-b@x.co' }));
    await call('PATCH', `/v1/contacts/${b.id}`, { tags: ['vip', 'beta'] });
    expect(json(await call('GET', `/v1/contacts/${a.id}`)).email).toBe('list-a@x.co');
    const ids = async (q: string) => json(await call('GET', `/v1/contacts?${q}`)).items.map((c: { id: string }) => c.id);
    expect(await ids('email=LIST-A@x.co')).toEqual([a.id]);
    expect(await ids('external_id=la')).toEqual([a.id]);
    expect(await ids('tag=vip')).toEqual([b.id]);
    expect(await ids('tag=nobody')).toEqual([]);
  });

  it('segment filter: an unknown segment → 404; a known one lists its members (engine/test/segments has the rest)', async () => {
    expect((await call('GET', '/v1/contacts?segment=frequent-buyers')).statusCode).toBe(404);
  });

  it('PATCH is a merge patch: null clears, properties merge; both identities cannot be cleared', async () => {
    const c = json(await call('POST', '/v1/contacts', { email: 'patch@x.co', properties: { a: 1, b: 2 }, timezone: 'UTC' }));
    const res = await call('PATCH', `/v1/contacts/${c.id}`, { properties: { a: null, c: 3 }, timezone: null, lifecycle_stage: 'customer' });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ properties: { b: 2, c: 3 }, timezone: null, lifecycle_stage: 'customer' });
    const clear = await call('PATCH', `/v1/contacts/${c.id}`, { email: null });
    expect(clear.statusCode).toBe(400);
    const badTz = await call('PATCH', `/v1/contacts/${c.id}`, { timezone: 'Nowhere/Else' });
    expect(badTz.statusCode).toBe(400);
    const unknown = await call('PATCH', `/v1/contacts/${c.id}`, { score: 'high' });
    expect(unknown.statusCode).toBe(400);
    expect(json(unknown).errors[0].path).toBe('/score');
  });

  it('PATCH to an email another contact has → 409 with the path', async () => {
    const one = json(await call('POST', '/v1/contacts', { email: 'one@x.co' }));
    await call('POST', '/v1/contacts', { email: 'two@x.co' });
    const res = await call('PATCH', `/v1/contacts/${one.id}`, { email: 'TWO@x.co' });
    expect(res.statusCode).toBe(409);
    expect(json(res).errors[0].path).toBe('/email');
  });

  it('Idempotency-Key: the same key and body → the first response with 200; another body → 409', async () => {
    const headers = { 'idempotency-key': 'create-zoe' };
    const first = await call('POST', '/v1/contacts', { email: 'zoe@x.co', properties: { n: 1 } }, headers);
    expect(first.statusCode).toBe(201);
    await call('PATCH', `/v1/contacts/${json(first).id}`, { properties: { n: 2 } });
    const replay = await call('POST', '/v1/contacts', { properties: { n: 1 }, email: 'zoe@x.co' }, headers);
    expect(replay.statusCode).toBe(200);
    expect(json(replay)).toEqual(json(first));
    const other = await call('POST', '/v1/contacts', { email: 'zoe@x.co', properties: { n: 3 } }, headers);
    expect(other.statusCode).toBe(409);
    expect(json(await call('GET', `/v1/contacts/${json(first).id}`)).properties).toEqual({ n: 2 });
  });

  it('Idempotency-Key: 20 concurrent creates with one key → one contact, same answer', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/v1/contacts', { email: 'par@x.co' }, { 'idempotency-key': 'par' })));
    expect(results.map((r) => r.statusCode).sort((x, y) => y - x)).toEqual([201, ...Array(19).fill(200)]);
    expect(new Set(results.map((r) => json(r).id)).size).toBe(1);
  });

  it('timeline: events and run steps, newest first, paginated', async () => {
    const post = (type: string, at: string) => h.app.inject({ method: 'POST', url: '/v1/events', headers: bearer(h.ws.a.keys.ingest), payload: { type, contact: { external_id: 'tl' }, occurred_at: at } });
    const e1 = json(await post('first', '2026-01-01T00:00:00Z'));
    await post('second', '2026-01-03T00:00:00Z');
    const cid = e1.contact_id;
    const flowId = '01900000-0000-7000-8000-000000000001';
    const runId = '01900000-0000-7000-8000-000000000002';
    await h.t.db('flows').insert({ id: flowId, workspace_id: h.ws.a.id, name: 'f', draft: {} });
    await h.t.db('runs').insert({ id: runId, workspace_id: h.ws.a.id, flow_id: flowId, version: 1, contact_id: cid, status: 'completed', state: 'done', exclusive: false, started_at: '2026-01-02T00:00:00Z', updated_at: '2026-01-02T00:00:00Z' });
    await h.t.db('run_steps').insert({ workspace_id: h.ws.a.id, run_id: runId, node_id: 'tag', status: 'completed', started_at: '2026-01-02T00:00:00Z', finished_at: '2026-01-02T00:00:01Z', output: JSON.stringify({ tags: ['x'] }) });
    const p1 = json(await call('GET', `/v1/contacts/${cid}/timeline?limit=2`));
    expect(p1.items.map((i: { kind: string; type?: string; node_id?: string }) => i.type ?? i.node_id)).toEqual(['second', 'tag']);
    expect(p1.items[1]).toMatchObject({ kind: 'step', run_id: runId, flow_id: flowId, status: 'completed', output: { tags: ['x'] } });
    const p2 = json(await call('GET', `/v1/contacts/${cid}/timeline?limit=2&cursor=${p1.next_cursor}`));
    expect(p2.items.map((i: { type?: string }) => i.type)).toEqual(['first']);
    expect(p2.next_cursor).toBeNull();
  });
});
