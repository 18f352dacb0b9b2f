import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

const MODEL = {
  rules: [
    { event: 'page.viewed', points: 10 },
    { event: 'webinar.attended', points: 15, max_per_contact: 20 },
    { event: 'email.clicked', when: { all: [{ fact: 'event', path: '$.properties.url', operator: 'equal', value: 'https://example.com/pricing' }] }, points: 25 },
  ],
  decay: { half_life: 'P7D' },
  qualified_at: 50,
  disqualified_at: 20,
};

/** Lead scoring through the public API with the test clock. */
describe('lead scoring', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const put = await h.call('PUT', '/v1/scoring', MODEL);
    expect(put.status).toBe(200);
    // A flow reacting to qualification shows lead.qualified is a real event.
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'MQL', settings: { reentry: 'always' },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.qualified' } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 100 }, config: { add: ['mql'] } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'tag' }],
    });
  });
  afterAll(async () => h?.close());

  const send = (email: string, type: string, properties: Record<string, unknown> = {}) => h.call('POST', '/v1/events', { type, contact: { email }, properties });
  const eventsOf = async (contactId: string, type: string) => {
    await h.engine.drain();
    const tl = await h.call('GET', `/v1/contacts/${contactId}/timeline?limit=500`);
    return tl.body.items.filter((i: { kind: string; type?: string }) => i.kind === 'event' && i.type === type);
  };
  const sumOf = (lines: { points: number }[]) => lines.reduce((s, l) => s + l.points, 0);

  it('GET /v1/scoring returns the model as PUT', async () => {
    const got = await h.call('GET', '/v1/scoring');
    expect(got.body).toMatchObject(MODEL);
  });

  it('records lead.qualified exactly once per contact under 50 concurrent scoring events', async () => {
    const emails = ['q1@example.com', 'q2@example.com'];
    const sent = await Promise.all(Array.from({ length: 50 }, (_, i) => send(emails[i % 2]!, 'page.viewed')));
    expect(sent.every((r) => r.status === 202)).toBe(true);
    await h.engine.drain();
    for (const email of emails) {
      const c = (await h.call('GET', `/v1/contacts?email=${email}`)).body.items[0];
      expect(c.score).toBe(250);
      expect(await eventsOf(c.id, 'lead.qualified')).toHaveLength(1);
      expect(c.tags).toContain('mql');
      const s = await h.call('GET', `/v1/contacts/${c.id}/score`);
      expect(s.body).toMatchObject({ contact_id: c.id, score: 250, breakdown: [{ rule: 'page.viewed', points: 250 }], qualified_at: '2026-03-02T09:00:00.000Z' });
    }
  });

  it('applies conditions and per-contact caps; the breakdown sums to the score', async () => {
    await send('cap@example.com', 'webinar.attended');
    await send('cap@example.com', 'webinar.attended');
    await send('cap@example.com', 'webinar.attended');
    await send('cap@example.com', 'email.clicked', { url: 'https://example.com/blog' });
    await send('cap@example.com', 'email.clicked', { url: 'https://example.com/pricing' });
    const c = (await h.call('GET', '/v1/contacts?email=cap@example.com')).body.items[0];
    expect(c.score).toBe(45); // webinar capped at 20, pricing click 25, blog click nothing
    const s = (await h.call('GET', `/v1/contacts/${c.id}/score`)).body;
    expect(s.breakdown).toEqual([{ rule: 'email.clicked', points: 25 }, { rule: 'webinar.attended', points: 20 }]);
    expect(sumOf(s.breakdown)).toBe(s.score);
    expect(s.qualified_at).toBeNull();
  });

  it('decays scores as the test clock moves, keeps the breakdown summing to the score, and disqualifies once', async () => {
    await send('decay@example.com', 'page.viewed');
    await send('decay@example.com', 'page.viewed');
    await send('decay@example.com', 'page.viewed');
    await send('decay@example.com', 'email.clicked', { url: 'https://example.com/pricing' });
    await h.engine.drain();
    let c = (await h.call('GET', '/v1/contacts?email=decay@example.com')).body.items[0];
    expect(c.score).toBe(55);
    expect(await eventsOf(c.id, 'lead.qualified')).toHaveLength(1);

    const advanced = await h.call('POST', '/v1/_test/clock/advance', { by: 'P7D' });
    expect(advanced.body).toEqual({ now: '2026-03-09T09:00:00.000Z' });
    c = (await h.call('GET', `/v1/contacts/${c.id}`)).body;
    expect(c.score).toBeCloseTo(27.5, 9);
    let s = (await h.call('GET', `/v1/contacts/${c.id}/score`)).body;
    expect(s.score).toBe(c.score);
    expect(sumOf(s.breakdown)).toBeCloseTo(s.score, 9);
    expect(s.breakdown.find((l: { rule: string }) => l.rule === 'page.viewed').points).toBeCloseTo(15, 9);
    expect(await eventsOf(c.id, 'lead.disqualified')).toHaveLength(0);

    // New points land on the decayed score.
    await send('decay@example.com', 'page.viewed');
    s = (await h.call('GET', `/v1/contacts/${c.id}/score`)).body;
    expect(s.score).toBeCloseTo(37.5, 9);

    await h.call('POST', '/v1/_test/clock/advance', { by: 'P14D' });
    s = (await h.call('GET', `/v1/contacts/${c.id}/score`)).body;
    expect(s.score).toBeCloseTo(37.5 / 4, 9);
    expect(sumOf(s.breakdown)).toBeCloseTo(s.score, 9);
    expect(await eventsOf(c.id, 'lead.disqualified')).toHaveLength(1);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P7D' });
    expect(await eventsOf(c.id, 'lead.disqualified')).toHaveLength(1);
    // Qualified stays once ever, even when the score climbs back.
    for (let i = 0; i < 6; i++) await send('decay@example.com', 'page.viewed');
    await h.engine.drain();
    expect(await eventsOf(c.id, 'lead.qualified')).toHaveLength(1);
  });

  it('action.score points show as the "other" line and still sum', async () => {
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Bonus', settings: { reentry: 'always' },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'bonus' } },
        { id: 'score', type: 'action.score', position: { x: 0, y: 100 }, config: { delta: 7 } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'score' }],
    });
    await send('bonus@example.com', 'page.viewed');
    await send('bonus@example.com', 'bonus');
    await h.engine.drain();
    const c = (await h.call('GET', '/v1/contacts?email=bonus@example.com')).body.items[0];
    const s = (await h.call('GET', `/v1/contacts/${c.id}/score`)).body;
    expect(s.score).toBe(17);
    expect(s.breakdown).toEqual([{ rule: 'page.viewed', points: 10 }, { rule: 'other', points: 7 }]);
  });

  it('refuses a bad model with paths and keeps the previous one', async () => {
    const bad = await h.call('PUT', '/v1/scoring', { rules: [{ event: 'page.viewed', points: '5' }], decay: { half_life: 'a week' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('/rules/0/points');
    const badDecay = await h.call('PUT', '/v1/scoring', { rules: [{ event: 'page.viewed', points: 5 }], decay: { half_life: 'a week' } });
    expect(badDecay.status).toBe(400);
    expect(badDecay.body.errors[0].path).toBe('/decay/half_life');
    const badWhen = await h.call('PUT', '/v1/scoring', { rules: [{ event: 'page.viewed', points: 5, when: { all: [{ fact: 'event', path: '$.x', operator: 'nope', value: 1 }] } }] });
    expect(badWhen.status).toBe(400);
    expect(badWhen.body.errors[0].path).toMatch(/^\/rules\/0\/when\/all\/0/);
    const badOrder = await h.call('PUT', '/v1/scoring', { rules: [], qualified_at: 10, disqualified_at: 20 });
    expect(badOrder.body.errors[0].path).toBe('/disqualified_at');
    expect((await h.call('GET', '/v1/scoring')).body).toMatchObject(MODEL);
  });
});
