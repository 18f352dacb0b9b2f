import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { segmentReady } from './ready.ts';

/**
 * Behavioural attributes are kept only for event types something reads (crm/segments/activity.ts): a type no
 * segment, flow or score names costs ingestion no write, and the first reader builds the type's attributes from
 * the stored events. Every check compares contact_activity with an independent aggregate over the events table.
 */
describe('behavioural attributes are kept for the event types something reads', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());

  const kept = async (type: string) => ((await h.t.db.raw(
    `SELECT c.email, a.count::int AS count, a.sum, a.first_at, a.last_at FROM contact_activity a JOIN contacts c ON c.id = a.contact_id
      WHERE a.workspace_id = ? AND a.event_type = ? ORDER BY c.email`, [h.workspaceId, type],
  )).rows);
  const fromEvents = async (type: string) => ((await h.t.db.raw(
    `SELECT c.email, count(*)::int AS count,
            sum(CASE WHEN jsonb_typeof(e.properties->'amount') = 'number' THEN (e.properties->>'amount')::float8 ELSE 0 END) AS sum,
            min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at
       FROM events e JOIN contacts c ON c.id = e.contact_id WHERE e.workspace_id = ? AND e.type = ? GROUP BY c.email ORDER BY c.email`,
    [h.workspaceId, type],
  )).rows);
  const keptDays = async (type: string) => ((await h.t.db.raw(
    `SELECT contact_id, to_char(day, 'YYYY-MM-DD') AS day, count, sum FROM contact_activity_days WHERE workspace_id = ? AND event_type = ? ORDER BY 1, 2`,
    [h.workspaceId, type],
  )).rows);
  const daysFromEvents = async (type: string) => ((await h.t.db.raw(
    `SELECT contact_id, to_char((occurred_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*)::int AS count,
            sum(CASE WHEN jsonb_typeof(properties->'amount') = 'number' THEN (properties->>'amount')::float8 ELSE 0 END) AS sum
       FROM events WHERE workspace_id = ? AND type = ? GROUP BY 1, 2 ORDER BY 1, 2`,
    [h.workspaceId, type],
  )).rows);
  const post = (type: string, email: string, at: string, properties: Record<string, unknown> = {}) =>
    h.call('POST', '/v1/events', { type, contact: { email }, occurred_at: at, properties });

  it('a type nothing reads is not kept; a segment naming it builds its attributes from the stored events, then ingestion keeps them', async () => {
    for (const [email, at, amount] of [
      ['ann@example.com', '2026-02-20T10:00:00Z', 2], ['ann@example.com', '2026-02-27T10:00:00Z', 3.5],
      ['ann@example.com', '2026-03-01T23:30:00Z', 'x'], ['bob@example.com', '2026-02-28T08:00:00Z', 1],
    ] as const) expect((await post('page.viewed', email, at, { amount })).status).toBe(202);
    expect((await post('order.completed', 'bob@example.com', '2026-03-01T08:00:00Z', { amount: 40 })).status).toBe(202);
    expect(await kept('page.viewed')).toEqual([]);
    // order.completed is always kept (KPIs, RFM).
    expect(await kept('order.completed')).toEqual(await fromEvents('order.completed'));

    const rule = { all: [{ fact: 'activity', params: { event: 'page.viewed', measure: 'count', within: 'P30D' }, operator: 'greaterThanInclusive', value: 3 }] };
    // A preview counts an untracked type from the events themselves.
    const preview = await h.call('POST', '/v1/segments/preview', { rule });
    expect(preview.status).toBe(200);
    expect(preview.body.count).toBe(1);
    expect(await kept('page.viewed')).toEqual([]);

    expect((await h.call('POST', '/v1/segments', { key: 'readers', name: 'Readers', rule })).status).toBe(201);
    await segmentReady(h, 'readers');
    const built = await kept('page.viewed');
    expect(built.map((r: { email: string; count: number }) => [r.email, r.count])).toEqual([['ann@example.com', 3], ['bob@example.com', 1]]);
    expect(built).toEqual(await fromEvents('page.viewed'));
    expect(await keptDays('page.viewed')).toEqual(await daysFromEvents('page.viewed'));
    expect((await h.call('GET', '/v1/segments/readers/contacts')).body.items.map((c: { email: string }) => c.email)).toEqual(['ann@example.com']);

    await post('page.viewed', 'bob@example.com', '2026-03-02T08:00:00Z', { amount: 4 });
    await post('page.viewed', 'bob@example.com', '2026-03-02T08:30:00Z');
    expect(await kept('page.viewed')).toEqual(await fromEvents('page.viewed'));
    expect(await keptDays('page.viewed')).toEqual(await daysFromEvents('page.viewed'));
    expect((await h.call('GET', '/v1/segments/readers/contacts')).body.items.map((c: { email: string }) => c.email)).toEqual(['ann@example.com', 'bob@example.com']);
  });

  it('ingestion running while a segment starts tracking a type: no event is missed or counted twice', async () => {
    for (let round = 0; round < 3; round++) {
      const type = `clicked.${round}`;
      const emails = Array.from({ length: 5 }, (_, i) => `c${i}@example.com`);
      const events = Array.from({ length: 60 }, (_, i) => () => post(type, emails[i % 5]!, '2026-03-01T12:00:00Z', { amount: i }));
      const rule = { all: [{ fact: 'activity', params: { event: type, measure: 'count' }, operator: 'greaterThan', value: 0 }] };
      const results = await Promise.all([
        ...events.slice(0, 30).map((f) => f()),
        h.call('POST', '/v1/segments', { key: `clicked-${round}`, name: `Clicked ${round}`, rule }),
        ...events.slice(30).map((f) => f()),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([...Array(60).fill(202), 201].sort());
      const expected = await fromEvents(type);
      expect(expected.reduce((n: number, r: { count: number }) => n + r.count, 0)).toBe(60);
      expect(await kept(type)).toEqual(expected);
      expect(await keptDays(type)).toEqual(await daysFromEvents(type));
    }
  });

  it('publishing a flow whose conditions read a type keeps that type; computing churn risk keeps every type', async () => {
    await post('form.sent', 'dee@example.com', '2026-03-01T09:00:00Z');
    expect(await kept('form.sent')).toEqual([]);
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Form follow-up', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.created' } },
        { id: 'check', type: 'condition', position: { x: 0, y: 120 }, config: { rule: { all: [{ fact: 'activity', params: { event: 'form.sent', measure: 'count' }, operator: 'greaterThan', value: 0 }] } } },
        { id: 'yes', type: 'action.tag', position: { x: 0, y: 240 }, config: { add: ['sent'] } },
        { id: 'no', type: 'action.tag', position: { x: 200, y: 240 }, config: { add: ['silent'] } },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'check' },
        { id: 'e2', source: 'check', sourceHandle: 'true', target: 'yes' },
        { id: 'e3', source: 'check', sourceHandle: 'false', target: 'no' },
      ],
    });
    expect(await kept('form.sent')).toEqual(await fromEvents('form.sent'));
    expect(await kept('form.sent')).toHaveLength(1);

    await post('video.watched', 'dee@example.com', '2026-03-01T09:00:00Z');
    expect(await kept('video.watched')).toEqual([]);
    expect((await h.call('POST', '/v1/scores/recompute', {})).status).toBe(200);
    expect(await kept('video.watched')).toEqual(await fromEvents('video.watched'));
    await post('brand.new.type', 'dee@example.com', '2026-03-01T10:00:00Z');
    expect(await kept('brand.new.type')).toEqual(await fromEvents('brand.new.type'));
    expect(await kept('brand.new.type')).toHaveLength(1);
  });
});
