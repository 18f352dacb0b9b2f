import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../engine-harness.ts';

const PROGRAM = {
  key: 'stars',
  earn: [{ event: 'order.completed', points_per_unit: 1, property: 'amount' }, { event: 'review.posted', points_per_unit: 50 }],
  expires_after: 'P90D',
  tiers: [{ name: 'silver', min_points: 100 }, { name: 'gold', min_points: 500 }],
};

/** Loyalty programs through the public API with the test clock. */
describe('loyalty programs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const created = await h.call('POST', '/v1/loyalty-programs', PROGRAM);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(PROGRAM);
  });
  afterAll(async () => h?.close());

  const event = (email: string, type: string, properties: Record<string, unknown> = {}) => h.call('POST', '/v1/events', { type, contact: { email }, properties });
  const status = async (id: string) => (await h.call('GET', `/v1/contacts/${id}/loyalty?program=stars`)).body;
  const tierEvents = async (id: string) => {
    await h.engine.drain();
    return (await h.call('GET', `/v1/contacts/${id}/timeline`)).body.items.filter((i: { kind: string; type: string }) => i.kind === 'event' && i.type === 'loyalty.tier_changed');
  };

  it('earns points per unit and for bonus events; a tier change records one event', async () => {
    const id = (await event('pat@example.com', 'order.completed', { amount: 49.9 })).body.contact_id as string;
    expect(await status(id)).toMatchObject({ balance: 49, tier: null });
    await event('pat@example.com', 'review.posted');
    expect(await status(id)).toMatchObject({ balance: 99, tier: null });
    await event('pat@example.com', 'order.completed', { amount: '10' }); // not a number: earns nothing
    expect((await status(id)).balance).toBe(99);
    await event('pat@example.com', 'order.completed', { amount: 1 });
    expect(await status(id)).toMatchObject({ balance: 100, tier: 'silver' });
    await event('pat@example.com', 'order.completed', { amount: 5 });
    const changes = await tierEvents(id);
    expect(changes).toHaveLength(1);
    expect(changes[0].properties).toMatchObject({ program: 'stars', from: null, to: 'silver' });
  });

  it('20 concurrent redemptions against a balance that covers 10: exactly 10 succeed, the balance never goes below 0', async () => {
    const id = (await event('kim@example.com', 'order.completed', { amount: 100 })).body.contact_id as string;
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: id, points: 10, idempotency_key: `kim-${i}` })));
    expect(all.filter((r) => r.status === 201)).toHaveLength(10);
    const refused = all.filter((r) => r.status === 409);
    expect(refused).toHaveLength(10);
    expect(refused[0]!.body.errors[0].path).toBe('/points');
    expect(await status(id)).toMatchObject({ balance: 0 });
    // Idempotent by key: a repeat answers the first redemption and spends nothing.
    const first = all.find((r) => r.status === 201)!;
    const key = `kim-${all.indexOf(first)}`;
    const again = await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: id, points: 10, idempotency_key: key });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: id, points: 11, idempotency_key: key })).status).toBe(409);
    const ledger = (await h.call('GET', `/v1/loyalty-programs/stars/ledger?contact_id=${id}`)).body.items;
    expect(ledger.reduce((s: number, e: { points: number }) => s + e.points, 0)).toBe(0);
    expect(ledger.filter((e: { kind: string }) => e.kind === 'redeem')).toHaveLength(10);
  });

  it('points expire on time; spent points do not expire twice', async () => {
    const id = (await event('lou@example.com', 'order.completed', { amount: 60 })).body.contact_id as string;
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P30D' });
    await event('lou@example.com', 'order.completed', { amount: 40 });
    expect(await status(id)).toMatchObject({ balance: 100, tier: 'silver' });
    expect((await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: id, points: 50, idempotency_key: 'lou-1' })).status).toBe(201);
    // Day 89 after the first lot: nothing expired yet.
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P59D' });
    expect((await status(id)).balance).toBe(50);
    // Day 90: the first lot's 10 unspent points expire (50 of its 60 were spent first).
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P1D' });
    expect((await status(id)).balance).toBe(40);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P30D' });
    expect(await status(id)).toMatchObject({ balance: 0, tier: 'silver' });
    const ledger = (await h.call('GET', `/v1/loyalty-programs/stars/ledger?contact_id=${id}`)).body.items;
    expect(ledger.filter((e: { kind: string }) => e.kind === 'expire').map((e: { points: number }) => e.points).sort()).toEqual([-10, -40]);
  });

  it('tiers over a rolling window move down as points leave it, one event per change', async () => {
    expect((await h.call('POST', '/v1/loyalty-programs', { key: 'club', earn: [{ event: 'visit', points_per_unit: 60 }], tiers: [{ name: 'regular', min_points: 100 }], tier_window: 'P30D' })).status).toBe(201);
    const id = (await event('ray@example.com', 'visit')).body.contact_id as string;
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P10D' });
    await event('ray@example.com', 'visit');
    const club = async () => (await h.call('GET', `/v1/contacts/${id}/loyalty?program=club`)).body;
    expect(await club()).toMatchObject({ balance: 120, tier: 'regular' });
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P19D' });
    expect((await club()).tier).toBe('regular');
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P2D' }); // the first visit left the 30-day window
    expect(await club()).toMatchObject({ balance: 120, tier: null });
    const changes = (await tierEvents(id)).map((e: { properties: { program: string; from: string | null; to: string | null } }) => e.properties).filter((p: { program: string }) => p.program === 'club');
    expect(changes).toEqual([expect.objectContaining({ from: null, to: 'regular' }), expect.objectContaining({ from: 'regular', to: null })].reverse());
  });

  it('refuses negative points, an unknown program, points or amounts as strings, with paths; nothing is written', async () => {
    const id = (await event('neg@example.com', 'order.completed', { amount: 30 })).body.contact_id as string;
    const negative = await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: id, points: -5, idempotency_key: 'n1' });
    expect(negative.status).toBe(400);
    expect(negative.body.errors[0].path).toBe('/points');
    const text = await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: id, points: '5', idempotency_key: 'n2' });
    expect(text.status).toBe(400);
    expect(text.body.errors[0].path).toBe('/points');
    const unknown = await h.call('POST', '/v1/loyalty-programs/nope/redeem', { contact_id: id, points: 5, idempotency_key: 'n3' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe('/program');
    expect((await h.call('GET', `/v1/contacts/${id}/loyalty?program=nope`)).status).toBe(400);
    expect((await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: '00000000-0000-7000-8000-000000000000', points: 5, idempotency_key: 'n4' })).body.errors[0].path).toBe('/contact_id');
    expect((await status(id)).balance).toBe(30);
    const badProgram = await h.call('POST', '/v1/loyalty-programs', { key: 'bad', earn: [{ event: 'order.completed', points_per_unit: -1 }], expires_after: 'soon' });
    expect(badProgram.status).toBe(400);
    expect(badProgram.body.errors.map((e: { path: string }) => e.path)).toContain('/earn/0/points_per_unit');
    const badExpiry = await h.call('POST', '/v1/loyalty-programs', { key: 'bad', earn: [{ event: 'order.completed', points_per_unit: 1 }], expires_after: 'soon' });
    expect(badExpiry.body.errors[0].path).toBe('/expires_after');
    expect((await h.call('GET', '/v1/loyalty-programs/bad')).status).toBe(404);
  });
});
