import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, json, type Harness } from './harness.ts';

describe('workspace isolation and roles', () => {
  let h: Harness;
  let bContact: string;
  let aContact: string;
  beforeAll(async () => {
    h = await createHarness();
    const b = await h.app.inject({ method: 'POST', url: '/v1/events', headers: bearer(h.ws.b.keys.admin), payload: { type: 'signup', contact: { email: 'bee@b.co', external_id: 'shared-ext', properties: { plan: 'pro' } } } });
    bContact = json(b).contact_id;
    const a = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(h.ws.a.keys.admin), payload: { email: 'ay@a.co' } });
    aContact = json(a).id;
  });
  afterAll(async () => { await h.close(); });

  it("with workspace A's key, every contacts route on B's contact → 404", async () => {
    const key = bearer(h.ws.a.keys.admin);
    const calls = [
      { method: 'GET', url: `/v1/contacts/${bContact}` },
      { method: 'PATCH', url: `/v1/contacts/${bContact}`, payload: { properties: { plan: 'hacked' } } },
      { method: 'GET', url: `/v1/contacts/${bContact}/timeline` },
      { method: 'DELETE', url: `/v1/contacts/${bContact}` },
    ] as const;
    for (const c of calls) {
      const res = await h.app.inject({ method: c.method, url: c.url, headers: key, payload: 'payload' in c ? c.payload : undefined });
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(404);
    }
    const row = await h.t.db('contacts').where({ id: bContact }).first();
    expect(row.properties).toEqual({ plan: 'pro' });
    expect(row.erased_at).toBeNull();
  });

  it("lists never include B's rows, even when filtering on B's values", async () => {
    const key = bearer(h.ws.a.keys.viewer);
    for (const q of ['', '?email=bee@b.co', '?external_id=shared-ext', '?limit=500']) {
      const res = await h.app.inject({ method: 'GET', url: `/v1/contacts${q}`, headers: key });
      expect(res.statusCode).toBe(200);
      const ids = json(res).items.map((c: { id: string }) => c.id);
      expect(ids).not.toContain(bContact);
    }
  });

  it("events and upserts in A never match or touch B's contact with the same email/external_id", async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/events', headers: bearer(h.ws.a.keys.ingest), payload: { type: 'signup', contact: { email: 'BEE@b.co', external_id: 'shared-ext', properties: { plan: 'free' } } } });
    expect(res.statusCode).toBe(202);
    expect(json(res).contact_id).not.toBe(bContact);
    const row = await h.t.db('contacts').where({ id: bContact }).first();
    expect(row.properties).toEqual({ plan: 'pro' });
    const bEvents = await h.t.db('events').where({ contact_id: bContact }).count<{ n: string }[]>('* as n');
    expect(Number(bEvents[0]!.n)).toBe(1);
  });

  it("an idempotency_key used in B is a fresh key in A", async () => {
    const payload = { type: 'order', contact: { email: 'k@x.co' }, idempotency_key: 'same-key' };
    const inB = json(await h.app.inject({ method: 'POST', url: '/v1/events', headers: bearer(h.ws.b.keys.admin), payload }));
    const inA = json(await h.app.inject({ method: 'POST', url: '/v1/events', headers: bearer(h.ws.a.keys.admin), payload }));
    expect(inA.duplicate).toBe(false);
    expect(inA.id).not.toBe(inB.id);
  });

  it('missing or invalid key → 401', async () => {
    const none = await h.app.inject({ method: 'GET', url: '/v1/contacts' });
    expect(none.statusCode).toBe(401);
    expect(json(none).code).toBe('CAIRN_ERR_UNAUTHORIZED');
    // RFC 9110 §11.6.1: a 401 names the scheme that would be accepted.
    expect(none.headers['www-authenticate']).toBe('Bearer realm="cairn"');
    expect(none.headers['content-type']).toContain('application/problem+json');
    const forged = h.ws.a.keys.admin.slice(0, -4) + 'AAAA';
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: bearer(forged) })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: { authorization: 'Basic abc' } })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: bearer('cairn_000000000000_' + 'x'.repeat(43)) })).statusCode).toBe(401);
  });

  it('401 comes before body validation (an anonymous bad body is 401, not 400)', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/events', payload: { nonsense: true } });
    expect(res.statusCode).toBe(401);
  });

  it('viewer can read but not write → 403', async () => {
    const key = bearer(h.ws.a.keys.viewer);
    expect((await h.app.inject({ method: 'GET', url: `/v1/contacts/${aContact}`, headers: key })).statusCode).toBe(200);
    const writes = [
      { method: 'POST', url: '/v1/contacts', payload: { email: 'v@x.co' } },
      { method: 'PATCH', url: `/v1/contacts/${aContact}`, payload: { properties: { x: 1 } } },
      { method: 'DELETE', url: `/v1/contacts/${aContact}`, payload: undefined },
      { method: 'POST', url: '/v1/events', payload: { type: 'x', contact: { email: 'v@x.co' } } },
      { method: 'POST', url: '/v1/events/batch', payload: { events: [{ type: 'x', contact: { email: 'v@x.co' } }] } },
    ] as const;
    for (const w of writes) {
      const res = await h.app.inject({ method: w.method, url: w.url, headers: key, payload: w.payload });
      expect(res.statusCode, `${w.method} ${w.url}`).toBe(403);
      expect(json(res).code).toBe('CAIRN_ERR_FORBIDDEN');
    }
    expect(await h.t.db('contacts').where({ email: 'v@x.co' }).first()).toBeUndefined();
  });

  it('ingest can only post events', async () => {
    const key = bearer(h.ws.a.keys.ingest);
    expect((await h.app.inject({ method: 'POST', url: '/v1/events', headers: key, payload: { type: 'x', contact: { email: 'i@x.co' } } })).statusCode).toBe(202);
    expect((await h.app.inject({ method: 'POST', url: '/v1/events/batch', headers: key, payload: { events: [{ type: 'x', contact: { email: 'i@x.co' } }] } })).statusCode).toBe(202);
    const denied = [
      { method: 'GET', url: '/v1/contacts' },
      { method: 'GET', url: `/v1/contacts/${aContact}` },
      { method: 'GET', url: `/v1/contacts/${aContact}/timeline` },
      { method: 'POST', url: '/v1/contacts', payload: { email: 'i2@x.co' } },
      { method: 'PATCH', url: `/v1/contacts/${aContact}`, payload: { properties: { x: 1 } } },
      { method: 'DELETE', url: `/v1/contacts/${aContact}` },
    ] as const;
    for (const d of denied) {
      const res = await h.app.inject({ method: d.method, url: d.url, headers: key, payload: 'payload' in d ? d.payload : undefined });
      expect(res.statusCode, `${d.method} ${d.url}`).toBe(403);
    }
  });

  it('editor can write contacts and events', async () => {
    const key = bearer(h.ws.a.keys.editor);
    expect((await h.app.inject({ method: 'PATCH', url: `/v1/contacts/${aContact}`, headers: key, payload: { tags: ['vip'] } })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'POST', url: '/v1/events', headers: key, payload: { type: 'x', contact: { email: 'ay@a.co' } } })).statusCode).toBe(202);
  });
});
