import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { segmentReady } from './ready.ts';

const flowOn = (name: string, trigger: Record<string, unknown>) => ({
  schema: 'cairn.flow/v1', name, settings: { reentry: 'always', goal: null, exit_on: [] },
  nodes: [
    { id: 'start', position: { x: 0, y: 0 }, ...trigger },
    { id: 'note', type: 'action.set_property', position: { x: 0, y: 120 }, config: { properties: { noted: 'yes' } } },
  ],
  edges: [{ id: 'e1', source: 'start', target: 'note' }],
});

describe('segments (test clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());

  /** Transition events of one contact, oldest first, as `entered:key` / `exited:key`. */
  const transitions = async (contactId: string) => ((await h.t.db.raw(
    `SELECT type, properties->>'segment' AS segment FROM events WHERE workspace_id = ? AND contact_id = ? AND type LIKE 'segment.%' ORDER BY seq`,
    [h.workspaceId, contactId],
  )).rows as { type: string; segment: string }[]).map((r) => `${r.type.slice('segment.'.length)}:${r.segment}`);
  const members = async (key: string) => (await h.call('GET', `/v1/segments/${key}/contacts?limit=500`)).body.items.map((c: { email: string }) => c.email).sort();

  it('a property change that makes a contact match emits exactly one segment.entered; a change back one segment.exited', async () => {
    const created = await h.call('POST', '/v1/segments', {
      key: 'pros', name: 'Pro plan', rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'pro' }] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: 'pros', name: 'Pro plan', member_count: 0 });
    const c = (await h.call('POST', '/v1/contacts', { email: 'pro@example.com', properties: { plan: 'free' } })).body;
    expect(await transitions(c.id)).toEqual([]);
    await h.call('PATCH', `/v1/contacts/${c.id}`, { properties: { plan: 'pro' } });
    await h.call('PATCH', `/v1/contacts/${c.id}`, { properties: { seats: 3 } });
    expect(await transitions(c.id)).toEqual(['entered:pros']);
    expect(await members('pros')).toEqual(['pro@example.com']);
    expect((await h.call('GET', '/v1/segments/pros')).body.member_count).toBe(1);
    await h.call('PATCH', `/v1/contacts/${c.id}`, { properties: { plan: 'free' } });
    expect(await transitions(c.id)).toEqual(['entered:pros', 'exited:pros']);
    expect(await members('pros')).toEqual([]);
    expect((await h.call('GET', '/v1/segments/pros')).body.member_count).toBe(0);
  });

  it('events re-evaluate a contact when they change it (every segment) or when a rule reads their type (those segments only), and skip it otherwise', async () => {
    await h.call('POST', '/v1/segments', { key: 'tier-gold', name: 'Gold', rule: { all: [{ fact: 'contact', path: '$.properties.tier', operator: 'equal', value: 'gold' }] } });
    await h.call('POST', '/v1/segments', { key: 'two-pings', name: 'Two pings', rule: { all: [{ fact: 'activity', params: { event: 'skip.ping', measure: 'count' }, operator: 'greaterThanInclusive', value: 2 }] } });
    const ev = (type: string, properties?: Record<string, unknown>) => h.call('POST', '/v1/events', { type, contact: { email: 'skipper@example.com', ...(properties ? { properties } : {}) } });
    const cid = (await ev('skip.other')).body.contact_id;
    await ev('skip.other', { tier: 'gold' }); // an unread type, but the contact changed: evaluated
    expect(await transitions(cid)).toEqual(['entered:tier-gold']);
    await ev('skip.ping');
    await ev('skip.ping'); // an unchanged contact, but a rule reads skip.ping: evaluated
    expect(await transitions(cid)).toEqual(['entered:tier-gold', 'entered:two-pings']);
    // Made a non-member behind the engine's back, an unread event with an unchanged contact does not look again.
    await h.t.db.raw(`UPDATE contacts SET properties = properties || '{"tier": "silver"}' WHERE id = ?`, [cid]);
    await ev('skip.other');
    expect(await members('tier-gold')).toEqual(['skipper@example.com']);
    // A read type on an unchanged contact evaluates only the segments that read it: tier-gold is not looked at.
    await ev('skip.ping');
    expect(await members('tier-gold')).toEqual(['skipper@example.com']);
    await ev('skip.other', { tier: 'silver', seen: 1 });
    expect(await members('tier-gold')).toEqual([]);
  });

  it('20 concurrent updates of one contact never produce two enters in a row', async () => {
    await h.call('POST', '/v1/segments', { key: 'flip', name: 'Flip', rule: { all: [{ fact: 'contact', path: '$.properties.on', operator: 'equal', value: true }] } });
    const c = (await h.call('POST', '/v1/contacts', { email: 'flip@example.com' })).body;
    await Promise.all(Array.from({ length: 20 }, (_, i) => i % 2 === 0
      ? h.call('PATCH', `/v1/contacts/${c.id}`, { properties: { on: i % 4 === 0 } })
      : h.call('POST', '/v1/events', { type: 'toggle', contact: { email: 'flip@example.com', properties: { on: i % 3 === 0 } } })));
    const seen = await transitions(c.id);
    expect(seen.length).toBeGreaterThan(0);
    seen.forEach((t, i) => expect(t).toBe(i % 2 === 0 ? 'entered:flip' : 'exited:flip'));
    const final = (await h.call('GET', `/v1/contacts/${c.id}`)).body.properties.on === true;
    expect(await members('flip')).toEqual(final ? ['flip@example.com'] : []);
  });

  it('"no order.completed in the last 30 days" enters at day 30 exactly, a new order exits, a trigger.segment flow runs once per entry', async () => {
    const lapsed = await h.call('POST', '/v1/segments', {
      key: 'lapsed', name: 'No order in 30 days',
      rule: { all: [
        { fact: 'activity', params: { event: 'order.completed', measure: 'count' }, operator: 'greaterThan', value: 0 },
        { fact: 'activity', params: { event: 'order.completed', measure: 'last_at' }, operator: 'notWithinLast', value: 'P30D' },
      ] },
    });
    expect(lapsed.status).toBe(201);
    const flowId = await createAndPublish(h, flowOn('Win back', { type: 'trigger.segment', config: { segment: 'lapsed', on: 'enter' } }));
    const now = Date.parse((await h.call('GET', '/v1/_test/clock')).body.now);
    const order = await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'buyer@example.com' }, properties: { amount: 40 } });
    const cid = order.body.contact_id;
    const at = (ms: number) => new Date(now + ms).toISOString();
    const DAY = 86_400_000;
    await h.call('POST', '/v1/_test/clock/advance', { to: at(30 * DAY - 60_000) });
    expect(await transitions(cid)).toEqual([]);
    await h.call('POST', '/v1/_test/clock/advance', { to: at(30 * DAY + 60_000) });
    expect(await transitions(cid)).toEqual(['entered:lapsed']);
    const entered = (await h.t.db.raw(`SELECT occurred_at FROM events WHERE contact_id = ? AND type = 'segment.entered'`, [cid])).rows[0].occurred_at as Date;
    expect(entered.getTime()).toBeGreaterThan(now + 30 * DAY - 1000);
    expect(entered.getTime()).toBeLessThanOrEqual(now + 30 * DAY + 1000);
    await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'buyer@example.com' }, properties: { amount: 15 } });
    expect(await transitions(cid)).toEqual(['entered:lapsed', 'exited:lapsed']);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P31D' });
    expect(await transitions(cid)).toEqual(['entered:lapsed', 'exited:lapsed', 'entered:lapsed']);
    const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}&contact_id=${cid}`)).body.items;
    expect(runs).toHaveLength(2);
    expect((await h.call('GET', `/v1/contacts/${cid}`)).body.properties.noted).toBe('yes');
  });

  it('the test clock fires many time-based flips in batches, each contact entering at its own due time, one run per entry', async () => {
    await h.call('POST', '/v1/segments', {
      key: 'lapsed-batch', name: 'No batch order in 30 days',
      rule: { all: [
        { fact: 'activity', params: { event: 'order.batch', measure: 'count' }, operator: 'greaterThan', value: 0 },
        { fact: 'activity', params: { event: 'order.batch', measure: 'last_at' }, operator: 'notWithinLast', value: 'P30D' },
      ] },
    });
    const flowId = await createAndPublish(h, flowOn('Batch win back', { type: 'trigger.segment', config: { segment: 'lapsed-batch', on: 'enter' } }));
    const now = Date.parse((await h.call('GET', '/v1/_test/clock')).body.now);
    const DAY = 86_400_000;
    // 60 contacts whose last orders lie 1 to 60 hours apart (60 distinct due times).
    const lastOrder = new Map<string, number>();
    const events = Array.from({ length: 60 }, (_, i) => {
      const at = now - (i + 1) * 3_600_000 - i * 17;
      return { type: 'order.batch', contact: { email: `batch${i}@example.com` }, occurred_at: new Date(at).toISOString() };
    });
    const accepted = await h.call('POST', '/v1/events/batch', { events });
    accepted.body.items.forEach((it: { contact_id: string }, i: number) => lastOrder.set(it.contact_id, Date.parse(events[i]!.occurred_at)));
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P31D' });
    const entered = (await h.t.db.raw(
      `SELECT contact_id, occurred_at FROM events WHERE workspace_id = ? AND type = 'segment.entered' AND properties->>'segment' = 'lapsed-batch'`, [h.workspaceId],
    )).rows as { contact_id: string; occurred_at: Date }[];
    expect(entered).toHaveLength(60);
    for (const e of entered) {
      const due = lastOrder.get(e.contact_id)! + 30 * DAY;
      expect(e.occurred_at.getTime()).toBeGreaterThan(due);
      expect(e.occurred_at.getTime()).toBeLessThanOrEqual(due + 1000);
    }
    const members = (await h.t.db.raw(
      `SELECT m.contact_id, m.entered_at FROM segment_members m JOIN segments s ON s.id = m.segment_id WHERE s.key = 'lapsed-batch'`,
    )).rows as { contact_id: string; entered_at: Date }[];
    expect(members.map((m) => m.entered_at.getTime()).sort()).toEqual(entered.map((e) => e.occurred_at.getTime()).sort());
    const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}&limit=500`)).body.items as { contact_id: string; status: string }[];
    expect(runs).toHaveLength(60);
    expect(new Set(runs.map((r) => r.contact_id)).size).toBe(60);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
  });

  it('before / after a duration ago: a member from (before) or until (after) the moment, never for a contact without the time', async () => {
    const rule = (operator: string, value: string) => ({ all: [{ fact: 'activity', params: { event: 'visit.logged', measure: 'last_at' }, operator, value }] });
    expect((await h.call('POST', '/v1/segments', { key: 'visited-long-ago', name: 'Visited over 10 days ago', rule: rule('before', 'P10D') })).status).toBe(201);
    expect((await h.call('POST', '/v1/segments', { key: 'visited-lately', name: 'Visited in 5 days', rule: rule('after', 'P5D') })).status).toBe(201);
    const now = Date.parse((await h.call('GET', '/v1/_test/clock')).body.now);
    const visit = await h.call('POST', '/v1/events', { type: 'visit.logged', contact: { email: 'visitor@example.com' } });
    await h.call('POST', '/v1/contacts', { email: 'never-visited@example.com' });
    const cid = visit.body.contact_id;
    expect(await members('visited-lately')).toEqual(['visitor@example.com']);
    expect(await members('visited-long-ago')).toEqual([]);
    const DAY = 86_400_000;
    await h.call('POST', '/v1/_test/clock/advance', { to: new Date(now + 5 * DAY + 60_000).toISOString() });
    expect(await members('visited-lately')).toEqual([]);
    await h.call('POST', '/v1/_test/clock/advance', { to: new Date(now + 10 * DAY - 60_000).toISOString() });
    expect(await members('visited-long-ago')).toEqual([]);
    await h.call('POST', '/v1/_test/clock/advance', { to: new Date(now + 10 * DAY + 60_000).toISOString() });
    expect(await members('visited-long-ago')).toEqual(['visitor@example.com']);
    const times = (await h.t.db.raw(
      `SELECT properties->>'segment' AS segment, type, occurred_at FROM events WHERE contact_id = ? AND type LIKE 'segment.%' AND properties->>'segment' LIKE 'visited-%' ORDER BY seq`, [cid],
    )).rows as { segment: string; type: string; occurred_at: Date }[];
    expect(times.map((t) => `${t.type}:${t.segment}`)).toEqual(['segment.entered:visited-lately', 'segment.exited:visited-lately', 'segment.entered:visited-long-ago']);
    expect(Math.abs(times[1]!.occurred_at.getTime() - (now + 5 * DAY))).toBeLessThanOrEqual(1000);
    expect(Math.abs(times[2]!.occurred_at.getTime() - (now + 10 * DAY))).toBeLessThanOrEqual(1000);
  });

  it('creating a segment or changing its rule answers at once; a background job evaluates the existing contacts (one segment.entered each)', async () => {
    const events = Array.from({ length: 1500 }, (_, i) => ({ type: 'bulk.seen', contact: { email: `bulk${i}@example.com`, properties: { bucket: i % 3 } } }));
    for (let i = 0; i < events.length; i += 1000) expect((await h.call('POST', '/v1/events/batch', { events: events.slice(i, i + 1000) })).status).toBe(202);
    const rule = (bucket: number) => ({ all: [{ fact: 'contact', path: '$.properties.bucket', operator: 'equal', value: bucket }] });
    const created = await h.call('POST', '/v1/segments', { key: 'bucket', name: 'Bucket', rule: rule(0) });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('evaluating');
    expect((await segmentReady(h, 'bucket')).member_count).toBe(500);
    const transitions = async (type: string) => (await h.t.db.raw(
      `SELECT count(*)::int AS n, count(DISTINCT contact_id)::int AS d FROM events WHERE workspace_id = ? AND type = ? AND properties->>'segment' = 'bucket'`, [h.workspaceId, type],
    )).rows[0] as { n: number; d: number };
    expect(await transitions('segment.entered')).toEqual({ n: 500, d: 500 });
    const patched = await h.call('PATCH', '/v1/segments/bucket', { rule: rule(1) });
    expect(patched.status).toBe(200);
    expect(patched.body.status).toBe('evaluating');
    expect((await segmentReady(h, 'bucket')).member_count).toBe(500);
    expect(await transitions('segment.exited')).toEqual({ n: 500, d: 500 });
    expect(await transitions('segment.entered')).toEqual({ n: 1000, d: 1000 });
    // A rename is not a rule change: no evaluation.
    expect((await h.call('PATCH', '/v1/segments/bucket', { name: 'Bucket one' })).body.status).toBe('ready');
    const members = await h.call('GET', '/v1/segments/bucket/contacts?limit=500');
    expect(members.body.items.every((c: { properties: { bucket: number } }) => c.properties.bucket === 1)).toBe(true);
  });

  it('activity windows: "3+ orders in the last 90 days" counts by day and leaves when the oldest day leaves the window', async () => {
    await h.call('POST', '/v1/segments', {
      key: 'frequent', name: '3+ orders in 90 days',
      rule: { all: [{ fact: 'activity', params: { event: 'order.placed', measure: 'count', within: 'P90D' }, operator: 'greaterThanInclusive', value: 3 }] },
    });
    const now = Date.parse((await h.call('GET', '/v1/_test/clock')).body.now);
    const DAY = 86_400_000;
    const order = (email: string, daysAgo: number) => h.call('POST', '/v1/events', {
      type: 'order.placed', contact: { email }, properties: { amount: 10 }, occurred_at: new Date(now - daysAgo * DAY).toISOString(),
    });
    for (const d of [100, 50, 10]) await order('two@example.com', d);
    for (const d of [80, 50, 10]) await order('three@example.com', d);
    expect(await members('frequent')).toEqual(['three@example.com']);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P11D' });
    expect(await members('frequent')).toEqual([]);
    const preview = await h.call('POST', '/v1/segments/preview', {
      rule: { all: [{ fact: 'activity', params: { event: 'order.placed', measure: 'sum' }, operator: 'greaterThanInclusive', value: 30 }] },
    });
    expect(preview.status).toBe(200);
    expect(preview.body.count).toBe(2);
    expect(preview.body.sample.map((c: { email: string }) => c.email).sort()).toEqual(['three@example.com', 'two@example.com']);
  });

  it('GET /v1/contacts?segment=key lists members; GET /v1/segments lists segments with counts; size history per day', async () => {
    await h.call('POST', '/v1/segments', { key: 'vips', name: 'VIPs', rule: { all: [{ fact: 'contact', operator: 'hasTag', value: 'vip' }] } });
    const a = (await h.call('POST', '/v1/contacts', { email: 'vip-a@example.com' })).body;
    await h.call('PATCH', `/v1/contacts/${a.id}`, { tags: ['vip'] });
    await h.call('POST', '/v1/contacts', { email: 'vip-b@example.com' });
    const listed = await h.call('GET', '/v1/contacts?segment=vips');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([a.id]);
    const all = await h.call('GET', '/v1/segments');
    expect(all.body.items.find((s: { key: string }) => s.key === 'vips')).toMatchObject({ member_count: 1 });
    const one = await h.call('GET', '/v1/segments/vips');
    expect(one.body.history).toHaveLength(30);
    expect(one.body.history.at(-1).members).toBe(1);
  });

  it('the member count stays equal to count(*) of the members under concurrent enters and exits of many contacts', async () => {
    await h.call('POST', '/v1/segments', { key: 'inside', name: 'Inside', rule: { all: [{ fact: 'contact', path: '$.properties.side', operator: 'equal', value: 'in' }] } });
    await segmentReady(h, 'inside');
    const emails = Array.from({ length: 40 }, (_, i) => `side${i}@example.com`);
    const ids = await Promise.all(emails.map(async (email) => (await h.call('POST', '/v1/contacts', { email })).body.id as string));
    const counted = async () => ({
      api: (await h.call('GET', '/v1/segments/inside')).body.member_count as number,
      rows: (await h.t.db.raw(
        `SELECT count(*)::int AS n FROM segment_members m JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id WHERE s.workspace_id = ? AND s.key = 'inside'`,
        [h.workspaceId],
      )).rows[0].n as number,
    });
    // Three rounds of 80 concurrent changes (PATCHes, events, batches), each contact moved in and out several times.
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 80 }, (_, k) => {
        const i = (k * 7 + round) % ids.length;
        const side = (k + round) % 3 === 0 ? 'out' : 'in';
        if (k % 3 === 0) return h.call('PATCH', `/v1/contacts/${ids[i]}`, { properties: { side } });
        if (k % 3 === 1) return h.call('POST', '/v1/events', { type: 'side.moved', contact: { email: emails[i], properties: { side } } });
        return h.call('POST', '/v1/events/batch', { events: [0, 1].map((d) => ({ type: 'side.moved', contact: { email: emails[(i + d * 11) % ids.length], properties: { side: d === 0 ? side : 'in' } } })) });
      }));
      const c = await counted();
      expect(c.rows).toBeGreaterThan(0);
      expect(c.api).toBe(c.rows);
    }
    const one = (await h.call('GET', '/v1/segments/inside')).body;
    expect(one.history.at(-1).members).toBe(one.member_count);
    // Everyone out at once: the count is back to zero.
    await h.call('POST', '/v1/events/batch', { events: emails.map((email) => ({ type: 'side.moved', contact: { email, properties: { side: 'out' } } })) });
    expect(await counted()).toEqual({ api: 0, rows: 0 });
  });

  it('bad input: unknown fact/operator → 400 naming the path; taken key → 409; over the limits → 400; unknown segment → 404', async () => {
    const bad = (rule: unknown) => h.call('POST', '/v1/segments', { key: 'bad', name: 'Bad', rule });
    const unknownFact = await bad({ all: [{ fact: 'account', path: '$.x', operator: 'equal', value: 1 }] });
    expect(unknownFact.status).toBe(400);
    expect(unknownFact.body.errors).toContainEqual(expect.objectContaining({ path: '/rule/all/0/fact' }));
    const unknownOp = await bad({ all: [{ fact: 'contact', path: '$.x', operator: 'sortOf', value: 1 }] });
    expect(unknownOp.status).toBe(400);
    expect(unknownOp.body.errors).toContainEqual(expect.objectContaining({ path: '/rule/all/0/operator' }));
    const badMeasure = await bad({ all: [{ fact: 'activity', params: { event: 'x', measure: 'avg' }, operator: 'equal', value: 1 }] });
    expect(badMeasure.status).toBe(400);
    expect(badMeasure.body.errors).toContainEqual(expect.objectContaining({ path: '/rule/all/0/params/measure' }));
    const huge = await bad({ any: Array.from({ length: 60 }, (_, i) => ({ fact: 'contact', path: '$.properties.n', operator: 'equal', value: i })) });
    expect(huge.status).toBe(400);
    expect(huge.body.errors[0].message).toMatch(/more than 50 conditions/);
    const taken = await h.call('POST', '/v1/segments', { key: 'pros', name: 'Again', rule: { all: [] } });
    expect(taken.status).toBe(409);
    expect(taken.body.errors).toContainEqual(expect.objectContaining({ path: '/key' }));
    expect((await h.call('GET', '/v1/segments/nope')).status).toBe(404);
    expect((await h.call('POST', '/v1/segments/preview', { rule: { all: [{ fact: 'run', path: '$.x', operator: 'equal', value: 1 }] } })).status).toBe(400);
  });

  it('a segment used by a published flow cannot be deleted (409 naming the flow); unused ones can', async () => {
    await h.call('POST', '/v1/segments', { key: 'weekly', name: 'Weekly', rule: { all: [] } });
    const flowId = await createAndPublish(h, flowOn('Weekly digest', { type: 'trigger.schedule', config: { cron: '0 9 * * 1', timezone: 'UTC', segment: 'weekly' } }));
    const refused = await h.call('DELETE', '/v1/segments/weekly');
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('Weekly digest');
    expect(refused.body.detail).toContain(flowId);
    await h.call('POST', `/v1/flows/${flowId}/archive`, {});
    expect((await h.call('DELETE', '/v1/segments/weekly')).status).toBe(204);
    expect((await h.call('GET', '/v1/segments/weekly')).status).toBe(404);
  });

  it('trigger.schedule over a segment starts a run for each member only', async () => {
    await h.call('POST', '/v1/segments', { key: 'gold', name: 'Gold', rule: { all: [{ fact: 'contact', path: '$.properties.tier', operator: 'equal', value: 'gold' }] } });
    const g = (await h.call('POST', '/v1/contacts', { email: 'gold@example.com', properties: { tier: 'gold' } })).body;
    const s = (await h.call('POST', '/v1/contacts', { email: 'silver@example.com', properties: { tier: 'silver' } })).body;
    const flowId = await createAndPublish(h, flowOn('Gold daily', { type: 'trigger.schedule', config: { cron: '0 6 * * *', timezone: 'UTC', segment: 'gold' } }));
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P1D' });
    const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items.map((r: { contact_id: string }) => r.contact_id);
    expect(runs).toEqual([g.id]);
    expect(runs).not.toContain(s.id);
  });

  it('lead-score decay re-evaluates segments that read the score: the contact exits when its score fades below the rule', async () => {
    expect((await h.call('PUT', '/v1/scoring', { rules: [{ event: 'hot.ping', points: 20 }], decay: { half_life: 'P7D' } })).status).toBe(200);
    expect((await h.call('POST', '/v1/segments', { key: 'hot', name: 'Hot', rule: { all: [{ fact: 'contact', path: '$.score', operator: 'greaterThanInclusive', value: 15 }] } })).status).toBe(201);
    await segmentReady(h, 'hot');
    const cid = (await h.call('POST', '/v1/events', { type: 'hot.ping', contact: { email: 'hot@example.com' } })).body.contact_id;
    expect(await members('hot')).toEqual(['hot@example.com']);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P3D' }); // 20 → 14.9
    expect((await h.call('GET', `/v1/contacts/${cid}`)).body.score).toBeLessThan(15);
    expect(await members('hot')).toEqual([]);
    expect((await transitions(cid)).filter((t) => t.endsWith(':hot'))).toEqual(['entered:hot', 'exited:hot']);
    expect((await h.call('PUT', '/v1/scoring', { rules: [] })).status).toBe(200);
  });

  it('erasure removes the contact\'s memberships and behavioural attributes', async () => {
    const ev = await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'erase-me@example.com', properties: { plan: 'pro' } }, properties: { amount: 9 } });
    const cid = ev.body.contact_id;
    expect(await members('pros')).toContain('erase-me@example.com');
    const before = (await h.t.db.raw(`SELECT count(*)::int AS n FROM contact_activity WHERE contact_id = ?`, [cid])).rows[0].n;
    expect(before).toBeGreaterThan(0);
    expect((await h.call('DELETE', `/v1/contacts/${cid}`)).status).toBe(204);
    const left = (await h.t.db.raw(
      `SELECT (SELECT count(*) FROM segment_members WHERE contact_id = ?)::int + (SELECT count(*) FROM contact_activity WHERE contact_id = ?)::int
            + (SELECT count(*) FROM contact_activity_days WHERE contact_id = ?)::int + (SELECT count(*) FROM segment_wakeups WHERE contact_id = ?)::int AS n`,
      [cid, cid, cid, cid],
    )).rows[0].n;
    expect(left).toBe(0);
    expect((await h.call('GET', '/v1/segments/pros')).body.member_count).toBe(0);
  });
});
