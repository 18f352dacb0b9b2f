import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

const PROGRAM = {
  key: 'friends',
  qualifying_event: 'order.completed',
  min_amount: 20,
  referrer_reward: { type: 'credit', amount: 10, currency: 'USD' },
  referee_reward: { type: 'discount', amount: 10, currency: 'USD' },
  review_period: 'P14D',
  void_event: 'order.refunded',
  max_rewards_per_referrer: 2,
  cap_period: 'P30D',
};

interface Reward { id: string; program: string; contact_id: string; role: string; status: string; reason?: string; referee_id: string; referrer_id: string }

/** Referral programs through the public API with the test clock. */
describe('referral programs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const created = await h.call('POST', '/v1/referral-programs', PROGRAM);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(PROGRAM);
    // A flow on reward.granted (e.g. to credit via webhook): here it tags, so the event is seen to trigger flows.
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Credit rewards', settings: { reentry: 'always' },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'reward.granted' } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 100 }, config: { add: ['rewarded'] } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'tag' }],
    });
  });
  afterAll(async () => h?.close());

  const contact = async (email: string) => (await h.call('POST', '/v1/contacts', { email })).body.id as string;
  const codeOf = async (id: string) => {
    const r = await h.call('GET', `/v1/contacts/${id}/referral-code?program=friends`);
    expect(r.status).toBe(200);
    return r.body.code as string;
  };
  const event = (email: string, type: string, properties: Record<string, unknown> = {}) => h.call('POST', '/v1/events', { type, contact: { email }, properties });
  const rewardsOf = async (contactId: string): Promise<Reward[]> => (await h.call('GET', `/v1/rewards?contact_id=${contactId}`)).body.items;

  it('gives each contact one stable code per program', async () => {
    const ana = await contact('ana@example.com');
    const code = await codeOf(ana);
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    expect(await codeOf(ana)).toBe(code);
    expect(await codeOf(await contact('ben@example.com'))).not.toBe(code);
  });

  it('rewards both sides once on the first qualifying event ≥ min_amount, even when it is sent twice concurrently; pending → granted after the review period', async () => {
    const ana = await contact('ana2@example.com');
    const code = await codeOf(ana);
    const signup = await event('tom@example.com', 'account.created', { referral_code: code });
    const tom = signup.body.contact_id as string;
    // Below min_amount: not qualifying.
    await event('tom@example.com', 'order.completed', { amount: 12 });
    expect(await rewardsOf(tom)).toEqual([]);
    const twice = await Promise.all([0, 1].map(() => event('tom@example.com', 'order.completed', { amount: 49, order_id: 'o-1' })));
    expect(twice.map((r) => r.status)).toEqual([202, 202]);
    await h.engine.drain();
    const tomRewards = await rewardsOf(tom);
    const anaRewards = await rewardsOf(ana);
    expect(tomRewards).toHaveLength(1);
    expect(anaRewards).toHaveLength(1);
    expect(tomRewards[0]).toMatchObject({ program: 'friends', contact_id: tom, role: 'referee', status: 'pending', referrer_id: ana, referee_id: tom });
    expect(anaRewards[0]).toMatchObject({ program: 'friends', contact_id: ana, role: 'referrer', status: 'pending' });

    await h.call('POST', '/v1/_test/clock/advance', { by: 'P13D' });
    expect((await rewardsOf(tom))[0]!.status).toBe('pending');
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P2D' });
    expect((await rewardsOf(tom))[0]!.status).toBe('granted');
    expect((await rewardsOf(ana))[0]!.status).toBe('granted');
    // reward.granted was recorded for each side and started the flow.
    for (const id of [tom, ana]) {
      const tl = (await h.call('GET', `/v1/contacts/${id}/timeline`)).body.items.filter((i: { kind: string; type: string }) => i.kind === 'event' && i.type === 'reward.granted');
      expect(tl).toHaveLength(1);
      expect((await h.call('GET', `/v1/contacts/${id}`)).body.tags).toContain('rewarded');
    }
    // A later order does not reward again; a refund after the review period voids nothing.
    await event('tom@example.com', 'order.completed', { amount: 80 });
    await event('tom@example.com', 'order.refunded', {});
    expect((await rewardsOf(tom)).map((r) => r.status)).toEqual(['granted']);
  });

  it('a code sent in the new contact\'s own properties attributes it too (only on the event that creates the contact)', async () => {
    const ana = await contact('ana4@example.com');
    const code = await codeOf(ana);
    const ivy = (await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'ivy@example.com', properties: { referral_code: code } }, properties: { amount: 30 } })).body.contact_id as string;
    expect((await rewardsOf(ivy))).toEqual([expect.objectContaining({ role: 'referee', status: 'pending', referrer_id: ana })]);
    // A later event of an existing contact with a code in its properties attributes nothing; in the event's
    // properties it is refused as a returning customer.
    await event('zoe@example.com', 'page.viewed');
    const zoe = (await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'zoe@example.com', properties: { referral_code: code } }, properties: { amount: 30 } })).body.contact_id as string;
    expect(await rewardsOf(zoe)).toEqual([]);
    await event('zoe@example.com', 'account.created', { referral_code: code });
    expect(await rewardsOf(zoe)).toEqual([expect.objectContaining({ status: 'refused', reason: 'returning_customer' })]);
  });

  it('a refund inside the review period voids both rewards', async () => {
    const ana = await contact('ana3@example.com');
    await event('lea@example.com', 'account.created', { referral_code: await codeOf(ana) });
    const lea = (await event('lea@example.com', 'order.completed', { amount: 30 })).body.contact_id as string;
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P3D' });
    await event('lea@example.com', 'order.refunded', { amount: 30 });
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P20D' });
    expect((await rewardsOf(lea)).map((r) => r.status)).toEqual(['voided']);
    expect((await rewardsOf(ana)).map((r) => r.status)).toEqual(['voided']);
  });

  it('refuses self-referral (by contact and by email), a returning customer, an already attributed contact and rewards past the cap, with reasons', async () => {
    const eve = await contact('eve@example.com');
    const eveCode = await codeOf(eve);
    await event('eve@example.com', 'account.created', { referral_code: eveCode });
    expect(await rewardsOf(eve)).toEqual([expect.objectContaining({ role: 'referee', status: 'refused', reason: 'self_referral' })]);

    const alias = (await event('eve+deals@example.com', 'account.created', { referral_code: eveCode })).body.contact_id as string;
    expect(await rewardsOf(alias)).toEqual([expect.objectContaining({ status: 'refused', reason: 'self_referral_email', referrer_id: eve })]);

    const old = (await event('old@example.com', 'order.completed', { amount: 99 })).body.contact_id as string;
    await event('old@example.com', 'account.created', { referral_code: eveCode });
    expect(await rewardsOf(old)).toEqual([expect.objectContaining({ status: 'refused', reason: 'returning_customer' })]);

    const max = await contact('max@example.com');
    const sam = (await event('sam@example.com', 'account.created', { referral_code: eveCode })).body.contact_id as string;
    await event('sam@example.com', 'account.created', { referral_code: await codeOf(max) });
    expect(await rewardsOf(sam)).toEqual([expect.objectContaining({ status: 'refused', reason: 'already_attributed', referrer_id: max })]);

    // Cap: 2 referrer rewards per 30 days. sam and two more referees qualify; the third referrer reward is refused.
    await event('sam@example.com', 'order.completed', { amount: 25 });
    for (const who of ['r1@example.com', 'r2@example.com']) {
      await event(who, 'account.created', { referral_code: eveCode });
      await event(who, 'order.completed', { amount: 25 });
    }
    const eveRewards = (await rewardsOf(eve)).filter((r) => r.role === 'referrer');
    expect(eveRewards.map((r) => r.status)).toEqual(['pending', 'pending', 'refused']);
    expect(eveRewards[2]).toMatchObject({ reason: 'over_cap' });
    const r2 = (await h.call('GET', '/v1/contacts?email=r2@example.com')).body.items[0].id as string;
    expect((await rewardsOf(r2)).map((r) => r.status)).toEqual(['pending']); // the referee keeps theirs
    // After the cap period a new referral pays the referrer again.
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P31D' });
    await event('r3@example.com', 'account.created', { referral_code: eveCode });
    await event('r3@example.com', 'order.completed', { amount: 25 });
    expect((await rewardsOf(eve)).filter((r) => r.role === 'referrer').map((r) => r.status)).toEqual(['granted', 'granted', 'refused', 'pending']);
  });

  it('refuses bad programs with paths, an unknown program with 400, and writes nothing', async () => {
    const bad = await h.call('POST', '/v1/referral-programs', { ...PROGRAM, key: 'bad', min_amount: '20', review_period: 'two weeks' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('/min_amount');
    const badPeriod = await h.call('POST', '/v1/referral-programs', { ...PROGRAM, key: 'bad', review_period: 'two weeks' });
    expect(badPeriod.status).toBe(400);
    expect(badPeriod.body.errors[0].path).toBe('/review_period');
    expect((await h.call('GET', '/v1/referral-programs/bad')).status).toBe(404);
    expect((await h.call('POST', '/v1/referral-programs', PROGRAM)).status).toBe(409);
    const someone = await contact('x@example.com');
    const unknown = await h.call('GET', `/v1/contacts/${someone}/referral-code?program=nope`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe('/program');
  });
});
