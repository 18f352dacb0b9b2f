import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestedEvent } from '../../src/crm/event-hooks.ts';
import { ingestEvents } from '../../src/crm/events.ts';
import { withTx } from '../../src/db/index.ts';
import { bearer, createHarness, json, type Harness } from './harness.ts';

describe('events ingestion', () => {
  let h: Harness;
  const calls: { workspaceId: string; events: IngestedEvent[]; inTx: boolean }[] = [];
  let failHookFor: string | null = null;
  beforeAll(async () => {
    h = await createHarness({
      onEventsIngested: async (tx, workspaceId, events) => {
        // The hook sees the events inside the ingestion transaction.
        const visible = await tx('events').whereIn('id', events.map((e) => e.id)).count<{ n: string }[]>('* as n');
        calls.push({ workspaceId, events, inTx: Number(visible[0]!.n) === events.length });
        if (failHookFor && events.some((e) => e.type === failHookFor)) throw new Error('flow engine refused');
      },
    });
  });
  afterAll(async () => { await h.close(); });

  const post = (url: string, payload: unknown, key = h.ws.a.keys.ingest) =>
    h.app.inject({ method: 'POST', url, headers: bearer(key), payload: payload as never });
  const countEvents = async (where: Record<string, unknown>) =>
    Number((await h.t.db('events').where(where).count<{ n: string }[]>('* as n'))[0]!.n);

  it('POST /v1/events → 202 { id, contact_id, duplicate:false }, upserting the contact', async () => {
    const res = await post('/v1/events', { type: 'lead.created', contact: { email: 'Lead@X.co', properties: { employees: 80 } }, properties: { source: 'form' }, occurred_at: '2026-01-02T03:04:05Z' });
    expect(res.statusCode).toBe(202);
    const body = json(res);
    expect(body).toEqual({ id: expect.any(String), contact_id: expect.any(String), duplicate: false });
    const ev = await h.t.db('events').where({ id: body.id }).first();
    expect(ev).toMatchObject({ workspace_id: h.ws.a.id, contact_id: body.contact_id, type: 'lead.created', properties: { source: 'form' } });
    expect(ev.occurred_at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    const again = json(await post('/v1/events', { type: 'lead.updated', contact: { email: 'lead@x.co', properties: { country: 'US' } } }));
    expect(again.contact_id).toBe(body.contact_id);
    const c = await h.t.db('contacts').where({ id: body.contact_id }).first();
    expect(c.properties).toEqual({ employees: 80, country: 'US' });
  });

  it('the hook gets the new events in order, inside the ingestion transaction', async () => {
    calls.length = 0;
    const res = await post('/v1/events/batch', { events: [
      { type: 'a', contact: { external_id: 'u1' } }, { type: 'b', contact: { external_id: 'u2' } }, { type: 'c', contact: { external_id: 'u1' } },
    ] });
    expect(res.statusCode).toBe(202);
    const items = json(res).items;
    expect(calls).toHaveLength(1);
    expect(calls[0]!.inTx).toBe(true);
    expect(calls[0]!.workspaceId).toBe(h.ws.a.id);
    expect(calls[0]!.events.map((e) => e.type)).toEqual(['a', 'b', 'c']);
    expect(calls[0]!.events.map((e) => e.id)).toEqual(items.map((i: { id: string }) => i.id));
    const seqs = calls[0]!.events.map((e) => e.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(items[0].contact_id).toBe(items[2].contact_id);
    expect(calls[0]!.events[0]!.occurredAt).toBeInstanceOf(Date);
  });

  it('a failing hook rolls back the events and contacts (an event is accepted only with its runs)', async () => {
    failHookFor = 'explode';
    const res = await post('/v1/events', { type: 'explode', contact: { email: 'boom@x.co' } });
    failHookFor = null;
    expect(res.statusCode).toBe(500);
    expect(json(res).code).toBe('CAIRN_ERR_INTERNAL');
    expect(await countEvents({ type: 'explode' })).toBe(0);
    expect(await h.t.db('contacts').where({ email: 'boom@x.co' }).first()).toBeUndefined();
  });

  it('idempotency: same idempotency_key twice → one row, second answer duplicate:true with the same id, hook once', async () => {
    calls.length = 0;
    const payload = { type: 'order.paid', contact: { email: 'buyer@x.co' }, idempotency_key: 'order-1' };
    const first = json(await post('/v1/events', payload));
    const second = await post('/v1/events', payload);
    expect(second.statusCode).toBe(202);
    expect(json(second)).toEqual({ id: first.id, contact_id: first.contact_id, duplicate: true });
    expect(await countEvents({ workspace_id: h.ws.a.id, idempotency_key: 'order-1' })).toBe(1);
    expect(calls.flatMap((c) => c.events).filter((e) => e.type === 'order.paid')).toHaveLength(1);
  });

  it('idempotency: the same key twice inside one batch → one row, second item duplicate:true', async () => {
    const res = json(await post('/v1/events/batch', { events: [
      { type: 'x', contact: { email: 'twice@x.co' }, idempotency_key: 'in-batch' },
      { type: 'x', contact: { email: 'twice@x.co' }, idempotency_key: 'in-batch' },
    ] }));
    expect(res.items[0].duplicate).toBe(false);
    expect(res.items[1]).toEqual({ ...res.items[0], duplicate: true });
    expect(await countEvents({ idempotency_key: 'in-batch' })).toBe(1);
  });

  it('idempotency: 50 concurrent posts of one key → exactly one row, every answer the same id, hook once', async () => {
    calls.length = 0;
    const payload = { type: 'concurrent', contact: { email: 'race@x.co' }, idempotency_key: 'race-key' };
    const results = await Promise.all(Array.from({ length: 50 }, () => post('/v1/events', payload)));
    for (const r of results) expect(r.statusCode, r.body).toBe(202);
    const bodies = results.map((r) => json(r));
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    expect(await countEvents({ workspace_id: h.ws.a.id, idempotency_key: 'race-key' })).toBe(1);
    expect(await h.t.db('contacts').where({ workspace_id: h.ws.a.id, email: 'race@x.co' }).count<{ n: string }[]>('* as n')).toEqual([{ n: 1 }]);
    expect(calls.flatMap((c) => c.events).filter((e) => e.type === 'concurrent')).toHaveLength(1);
  });

  it('50 concurrent events for one new contact (no key) → one contact (concurrent inserts retried), 50 events, every property merged', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => post('/v1/events', { type: 'burst', contact: { external_id: 'burst-1', properties: { [`k${i}`]: i } } })));
    for (const r of results) expect(r.statusCode, r.body).toBe(202);
    expect(new Set(results.map((r) => json(r).contact_id)).size).toBe(1);
    const c = await h.t.db('contacts').where({ workspace_id: h.ws.a.id, external_id: 'burst-1' });
    expect(c).toHaveLength(1);
    expect(Object.keys(c[0].properties)).toHaveLength(50);
    expect(await countEvents({ type: 'burst' })).toBe(50);
  });

  it('concurrent batches over the same contacts in different orders all commit (consistent lock order, deadlocks retried)', async () => {
    const emails = Array.from({ length: 60 }, (_, i) => `shared${i}@x.co`);
    // Half of them exist already, half are created by whichever batch comes first.
    await post('/v1/events/batch', { events: emails.slice(0, 30).map((email) => ({ type: 'seed', contact: { email } })) });
    let seed = 7;
    const shuffled = () => [...emails].sort(() => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5);
    const results = await Promise.all(Array.from({ length: 12 }, (_, b) => post('/v1/events/batch', {
      events: shuffled().map((email) => ({ type: 'shared', contact: { email, properties: { [`b${b}`]: true } } })),
    })));
    for (const r of results) expect(r.statusCode, r.body).toBe(202);
    expect(await countEvents({ workspace_id: h.ws.a.id, type: 'shared' })).toBe(12 * 60);
    const rows = await h.t.db('contacts').where({ workspace_id: h.ws.a.id }).whereLike('email', 'shared%@x.co');
    expect(rows).toHaveLength(60);
    for (const row of rows) expect(Object.keys(row.properties)).toHaveLength(12);
  });

  it('a batch of 1,000 with an invalid item at index 537 writes nothing; 400 with errors[].path under /events/537', async () => {
    const before = await countEvents({ workspace_id: h.ws.a.id });
    const contactsBefore = await h.t.db('contacts').where({ workspace_id: h.ws.a.id }).count<{ n: string }[]>('* as n');
    const events = Array.from({ length: 1000 }, (_, i) => ({ type: 'bulk', contact: { email: `bulk${i}@x.co` }, properties: { i } }));
    (events[537] as Record<string, unknown>).contact = { email: 'not-an-email' };
    const res = await post('/v1/events/batch', { events });
    expect(res.statusCode).toBe(400);
    const body = json(res);
    expect(body.errors.length).toBeGreaterThan(0);
    for (const e of body.errors) expect(e.path.startsWith('/events/537')).toBe(true);
    expect(body.errors[0].path).toBe('/events/537/contact/email');
    expect(await countEvents({ workspace_id: h.ws.a.id })).toBe(before);
    expect(await h.t.db('contacts').where({ workspace_id: h.ws.a.id }).count<{ n: string }[]>('* as n')).toEqual(contactsBefore);
  });

  it('a semantically invalid item (no contact identity) also rejects the whole batch', async () => {
    const before = await countEvents({ workspace_id: h.ws.a.id });
    const events = Array.from({ length: 10 }, (_, i) => ({ type: 'bulk2', contact: { email: `b2${i}@x.co` } }));
    events[7] = { type: 'bulk2', contact: {} as { email: string } };
    const res = await post('/v1/events/batch', { events });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors).toEqual([{ path: '/events/7/contact', message: 'a contact needs an external_id or an email' }]);
    expect(await countEvents({ workspace_id: h.ws.a.id })).toBe(before);
  });

  it('a batch of 1,000 valid events is accepted in order with one hook call', async () => {
    calls.length = 0;
    const events = Array.from({ length: 1000 }, (_, i) => ({ type: 'bulk-ok', contact: { email: `ok${i % 400}@x.co`, properties: { last: i } }, properties: { i } }));
    const res = await post('/v1/events/batch', { events });
    expect(res.statusCode).toBe(202);
    const items = json(res).items;
    expect(items).toHaveLength(1000);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.events.map((e) => (e.properties as { i: number }).i)).toEqual(events.map((_, i) => i));
    expect(await h.t.db('contacts').where({ workspace_id: h.ws.a.id }).whereILike('email', 'ok%@x.co').count<{ n: string }[]>('* as n')).toEqual([{ n: 400 }]);
    const last = await h.t.db('contacts').where({ workspace_id: h.ws.a.id, email: 'ok7@x.co' }).first();
    expect(last.properties).toEqual({ last: 807 });
  });

  it('more than 1,000 events in a batch → 400', async () => {
    const events = Array.from({ length: 1001 }, () => ({ type: 'x', contact: { email: 'a@x.co' } }));
    const res = await post('/v1/events/batch', { events });
    expect(res.statusCode).toBe(400);
    expect(json(res).errors[0].path).toBe('/events');
  });

  it('occurred_at defaults to the engine clock; a bad time zone in a contact → 400', async () => {
    const res = json(await post('/v1/events', { type: 'clocked', contact: { email: 'clock@x.co' } }));
    const ev = await h.t.db('events').where({ id: res.id }).first();
    expect(Math.abs(ev.occurred_at.getTime() - h.ctx.clock.now().getTime())).toBeLessThan(5000);
    const bad = await post('/v1/events', { type: 'x', contact: { email: 'a@x.co' }, occurred_at: 'yesterday' });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).errors[0].path).toBe('/occurred_at');
  });

  it('an email that belongs to another external_id → 409 with the path, nothing written', async () => {
    await post('/v1/events', { type: 'x', contact: { external_id: 'owner-1', email: 'taken@x.co' } });
    const before = await countEvents({ workspace_id: h.ws.a.id });
    const res = await post('/v1/events/batch', { events: [{ type: 'y', contact: { email: 'free@x.co' } }, { type: 'y', contact: { external_id: 'owner-2', email: 'taken@x.co' } }] });
    expect(res.statusCode).toBe(409);
    expect(json(res).errors[0].path).toBe('/events/1/contact/email');
    expect(await countEvents({ workspace_id: h.ws.a.id })).toBe(before);
  });

  it('ingestEvents by contactId (the executor path) locks the known contact and records the event', async () => {
    const c = await h.t.db('contacts').where({ workspace_id: h.ws.a.id, email: 'buyer@x.co' }).first();
    const [r] = await withTx(h.t.db, (tx) => ingestEvents(tx, h.ws.a.id, [{ type: 'emitted', contact: {}, contactId: c.id, source: 'flow' }], {}, { now: h.ctx.clock.now() }));
    expect(r).toMatchObject({ contact_id: c.id, duplicate: false });
    const other = await withTx(h.t.db, (tx) => ingestEvents(tx, h.ws.b.id, [{ type: 'emitted', contact: {}, contactId: c.id }], {})).catch((e) => e);
    expect(other.code).toBe('CAIRN_ERR_NOT_FOUND');
  });
});
