import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';
import { edge, flow, node } from '../flow-doc.ts';


describe('node types (test clock starts Monday 2026-03-02 09:00 UTC)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());
  const post = (type: string, email: string, properties: Record<string, unknown> = {}, contactProps: Record<string, unknown> = {}) =>
    h.call('POST', '/v1/events', { type, contact: { email, properties: contactProps }, properties });
  const contact = async (email: string) => (await h.call('GET', `/v1/contacts?email=${encodeURIComponent(email)}`)).body.items[0];

  it('split: weighted branches, stable per contact, with a holdout', async () => {
    const flowId = await createAndPublish(h, flow('Split', [
      node('start', 'trigger.event', { event: 'split.go' }),
      node('ab', 'split', { branches: [{ key: 'a', weight: 3 }, { key: 'b', weight: 1 }], holdout: 20 }, 100),
      node('tag_a', 'action.tag', { add: ['a'] }, 200), node('tag_b', 'action.tag', { add: ['b'] }, 200),
    ], [edge('start', 'ab'), edge('ab', 'tag_a', 'a'), edge('ab', 'tag_b', 'b')]));
    const n = 400;
    for (let i = 0; i < n; i += 100) {
      await h.call('POST', '/v1/events/batch', { events: Array.from({ length: 100 }, (_, k) => ({ type: 'split.go', contact: { email: `split${i + k}@example.com` } })) });
    }
    await h.engine.drain();
    const rows = (await h.t.db.raw(`SELECT tags FROM contacts WHERE workspace_id = ? AND email LIKE 'split%'`, [h.workspaceId])).rows as { tags: string[] }[];
    const a = rows.filter((r) => r.tags.includes('a')).length;
    const b = rows.filter((r) => r.tags.includes('b')).length;
    const held = n - a - b;
    expect(held / n).toBeGreaterThan(0.12);
    expect(held / n).toBeLessThan(0.28);
    expect(a / (a + b)).toBeGreaterThan(0.65);
    expect(a / (a + b)).toBeLessThan(0.85);
    // Stable: the same contacts again take the same branch, so nobody ends up with both tags.
    await h.call('POST', '/v1/events/batch', { events: Array.from({ length: 100 }, (_, k) => ({ type: 'split.go', contact: { email: `split${k}@example.com` } })) });
    await h.engine.drain();
    const again = (await h.t.db.raw(`SELECT email, tags FROM contacts WHERE workspace_id = ? AND email LIKE 'split%' ORDER BY email`, [h.workspaceId])).rows as { tags: string[] }[];
    expect(again.every((r) => r.tags.length <= 1)).toBe(true);
    const stats = (await h.call('GET', `/v1/flows/${flowId}/stats`)).body;
    expect(stats.nodes.ab.completed).toBe(n + 100);
  });

  it('set_property with Liquid, score, create_task for the owner, end with an outcome', async () => {
    await seedEnterprisePool(h);
    const flowId = await createAndPublish(h, flow('Actions', [
      node('start', 'trigger.event', { event: 'act.go' }),
      node('props', 'action.set_property', { properties: { greeting: 'Hi {{ contact.properties.first_name }}', plan: '{{ event.properties.plan }}', old: null } }, 100),
      node('score', 'action.score', { delta: 5 }, 200),
      node('owner', 'action.assign_owner', { pool: 'enterprise', strategy: 'round_robin' }, 300),
      node('task', 'action.create_task', { title: 'Call {{ contact.email }} about {{ event.properties.plan }}', due_in: 'P2D' }, 400),
      node('done', 'end', { outcome: 'converted' }, 500),
    ], [edge('start', 'props'), edge('props', 'score'), edge('score', 'owner'), edge('owner', 'task'), edge('task', 'done')]));
    await post('act.go', 'act@example.com', { plan: 'team' }, { first_name: 'Ada', old: 'x' });
    await h.engine.drain();
    const c = await contact('act@example.com');
    expect(c.properties).toEqual({ first_name: 'Ada', greeting: 'Hi Ada', plan: 'team' });
    expect(c.score).toBe(5);
    expect(c.owner_id).toBeTruthy();
    const tasks = (await h.t.db.raw(`SELECT title, owner_id, due_at FROM tasks WHERE workspace_id = ? AND contact_id = ?`, [h.workspaceId, c.id])).rows;
    expect(tasks).toEqual([{ title: 'Call act@example.com about team', owner_id: c.owner_id, due_at: new Date('2026-03-04T09:00:00Z') }]);
    const run = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items[0];
    expect(run.status).toBe('converted');
    expect((await h.call('GET', `/v1/flows/${flowId}/stats`)).body.runs).toMatchObject({ converted: 1, active: 0 });
  });

  it('wait_for_event with a match rule only resumes on a matching event; time-of-day delay waits for the next 09:00 in the contact zone', async () => {
    const flowId = await createAndPublish(h, flow('Match', [
      node('start', 'trigger.event', { event: 'order.placed' }),
      node('paid', 'wait_for_event', { event: 'order.paid', timeout: 'P1D', rule: { all: [{ fact: 'event', path: '$.properties.amount', operator: 'greaterThanInclusive', value: 100 }] } }, 100),
      node('morning', 'delay', { mode: 'time_of_day', time: '09:00', weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'] }, 200),
      node('thanks', 'action.tag', { add: ['paid'] }, 300),
      node('late', 'action.tag', { add: ['unpaid'] }, 300),
    ], [edge('start', 'paid'), edge('paid', 'morning', 'event'), edge('paid', 'late', 'timeout'), edge('morning', 'thanks')]));
    await h.call('POST', '/v1/contacts', { email: 'tokyo@example.com', timezone: 'Asia/Tokyo' });
    await post('order.placed', 'tokyo@example.com');
    await h.engine.drain();
    await post('order.paid', 'tokyo@example.com', { amount: 20 }); // does not match the rule
    await h.engine.drain();
    const c = await contact('tokyo@example.com');
    const runId = (await h.call('GET', `/v1/runs?flow_id=${flowId}&contact_id=${c.id}`)).body.items[0].id;
    expect((await h.call('GET', `/v1/runs/${runId}`)).body).toMatchObject({ status: 'waiting', current_node_id: 'paid' });
    await post('order.paid', 'tokyo@example.com', { amount: 150 });
    await h.engine.drain();
    const waiting = (await h.call('GET', `/v1/runs/${runId}`)).body;
    // 09:00 UTC is 18:00 in Tokyo; the next 09:00 Tokyo time is 00:00 UTC on Tuesday.
    expect(waiting).toMatchObject({ status: 'waiting', current_node_id: 'morning', waiting: { until: '2026-03-03T00:00:00.000Z' } });
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT16H' });
    expect((await contact('tokyo@example.com')).tags).toEqual(['paid']);
  });
});
