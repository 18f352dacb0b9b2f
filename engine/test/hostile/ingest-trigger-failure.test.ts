import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { node } from '../flow-doc.ts';

/*
 * Issue 8, item 2: a flow whose trigger `when` throws on an event's data must not fail that event, the events
 * committed with it (single events share a group-commit transaction), a batch, or /test. The event is stored,
 * the other flows still see it, and the failure is counted on the failing flow's trigger node.
 */

const flow = (name: string, event: string, when?: unknown) => ({
  schema: 'cairn.flow/v1',
  name,
  settings: { reentry: 'always', goal: null, exit_on: [] },
  nodes: [node('start', 'trigger.event', { event, ...(when ? { when } : {}) }), node('tag', 'action.tag', { add: [name] }, 100)],
  edges: [{ id: 'e1', source: 'start', target: 'tag' }],
});

describe('ingestion survives a flow whose trigger condition throws', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', workers: false });
  });
  afterAll(async () => h?.close());

  const count = async (sql: string, args: (string | string[])[]) => ((await h.t.db.raw(sql, args)).rows[0] as { n: number }).n;
  const runs = (flowId: string) => count(`SELECT count(*)::int AS n FROM runs WHERE workspace_id = ? AND flow_id = ?`, [h.workspaceId, flowId]);
  const triggerFailed = async (flowId: string) => (await h.call('GET', `/v1/flows/${flowId}/stats`)).body.nodes.start?.failed ?? 0;

  it('a stored filter condition ($..[?(@.x)] over a null property): 15 concurrent events × 202, none lost, the failure counted', async () => {
    // A flow published before validation refused filters: its stored document still carries one.
    const legacy = await createAndPublish(h, flow('legacy', 'hostile.signup', { all: [{ fact: 'event', path: '$.properties.plan', operator: 'equal', value: 'pro' }] }));
    await h.t.db.raw(
      `UPDATE flow_versions SET document = jsonb_set(document, '{nodes,0,config,when,all,0,path}', to_jsonb(?::text)) WHERE workspace_id = ? AND flow_id = ?`,
      ['$..[?(@.x)]', h.workspaceId, legacy],
    );
    const healthy = await createAndPublish(h, flow('healthy', 'hostile.signup'));

    const hostile = Array.from({ length: 5 }, (_, i) => ({ type: 'hostile.signup', contact: { email: `filter${i}@example.com` }, properties: { plan: null } }));
    const innocent = Array.from({ length: 10 }, (_, i) => ({ type: `innocent.t${i % 3}`, contact: { email: `innocent${i}@example.com` }, properties: { n: i } }));
    const res = await Promise.all([...hostile, ...innocent].map((body) => h.call('POST', '/v1/events', body)));
    expect(res.map((r) => r.status)).toEqual(res.map(() => 202));
    expect(new Set(res.map((r) => r.body.id)).size).toBe(15);

    expect(await count(`SELECT count(*)::int AS n FROM events WHERE workspace_id = ? AND id = ANY(?::uuid[])`, [h.workspaceId, res.map((r) => r.body.id)])).toBe(15);
    expect(await runs(healthy)).toBe(5);
    expect(await runs(legacy)).toBe(0);
    expect(await triggerFailed(legacy)).toBe(5);
    expect(await triggerFailed(healthy)).toBe(0);
  });

  it("a valid `when` that json-rules-engine rejects on this event's data: single, batch and /test all answer, never 500", async () => {
    // lessThan converts the fact with parseFloat; {"toString": 1} cannot be converted: json-rules-engine rejects.
    const when = { all: [{ fact: 'event', path: '$.properties.obj', operator: 'lessThan', value: 5 }] };
    const picky = await createAndPublish(h, flow('picky', 'hostile.obj', when));
    const healthy = await createAndPublish(h, flow('healthy-obj', 'hostile.obj'));
    const bad = (i: number) => ({ type: 'hostile.obj', contact: { email: `obj${i}@example.com` }, properties: { obj: { toString: 1 } } });
    const good = (i: number) => ({ type: 'hostile.obj', contact: { email: `num${i}@example.com` }, properties: { obj: 2 } });

    const singles = await Promise.all([bad(0), good(0), bad(1), good(1), bad(2)].map((body) => h.call('POST', '/v1/events', body)));
    expect(singles.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    const batch = await h.call('POST', '/v1/events/batch', { events: [bad(3), good(2), bad(4), good(3)] });
    expect(batch.status).toBe(202);
    expect(batch.body.items).toHaveLength(4);

    expect(await runs(healthy)).toBe(9);
    expect(await runs(picky)).toBe(4); // the good events still start the picky flow
    expect(await triggerFailed(picky)).toBe(5);

    const dry = await h.call('POST', `/v1/flows/${picky}/test`, { contact: { email: 'dry@example.com' }, event: { type: 'hostile.obj', properties: { obj: { toString: 1 } } } });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ triggered: false, status: 'trigger_failed', path: ['start'] });
    expect(dry.body.steps[0]).toMatchObject({ node_id: 'start', status: 'failed', error: { code: 'CAIRN_ERR_STEP_FAILED' } });
    expect(dry.body.steps[0].error.message).toMatch(/when.*condition failed/);
  });

  it('a segment rule that rejects on a contact\'s data: the event is accepted, the rule does not hold for that contact', async () => {
    const seg = await h.call('POST', '/v1/segments', { key: 'small', name: 'Small', rule: { all: [{ fact: 'contact', path: '$.properties.size', operator: 'lessThan', value: 5 }] } });
    expect(seg.status).toBe(201);
    const res = await Promise.all([
      h.call('POST', '/v1/events', { type: 'seg.ping', contact: { email: 'seg-bad@example.com', properties: { size: { toString: 1 } } } }),
      h.call('POST', '/v1/events', { type: 'seg.ping', contact: { email: 'seg-good@example.com', properties: { size: 2 } } }),
    ]);
    expect(res.map((r) => r.status)).toEqual([202, 202]);
    const members = (await h.call('GET', '/v1/segments/small/contacts')).body.items.map((c: { email: string }) => c.email);
    expect(members).toEqual(['seg-good@example.com']);
  });

  it('validation refuses a filter in trigger.event.when with the JSON Pointer of the path', async () => {
    const created = await h.call('POST', '/v1/flows', flow('filtered', 'hostile.filter', { all: [{ fact: 'event', path: '$..[?(@.x)]', operator: 'equal', value: 1 }] }));
    expect(created.status).toBe(201);
    const pub = await h.call('POST', `/v1/flows/${created.body.id}/publish`, {});
    expect(pub.status).toBe(422);
    expect(pub.body.errors).toEqual([expect.objectContaining({ path: '/nodes/0/config/when/all/0/path', message: expect.stringMatching(/filter or script expression/) })]);
  });
});
