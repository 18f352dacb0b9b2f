import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, eventually, startHarness, type Harness } from '../engine-harness.ts';

const welcome = {
  schema: 'cairn.flow/v1', name: 'Welcome email', settings: { reentry: 'never', goal: null, exit_on: [] },
  nodes: [
    { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'signup.completed' } },
    { id: 'mail', type: 'action.send_email', position: { x: 0, y: 120 }, config: { subject: 'Welcome', text: 'Hello' } },
  ],
  edges: [{ id: 'e1', source: 'start', target: 'mail' }],
};

describe('GET /v1/kpis email engagement per flow and node (no SMTP: messages go to the outbox)', () => {
  let h: Harness;
  let flowId: string;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    flowId = await createAndPublish(h, welcome);
    const signups = Array.from({ length: 12 }, (_, i) => ({ type: 'signup.completed', contact: { email: `m${i}@example.com` } }));
    expect((await h.call('POST', '/v1/events/batch', { events: signups })).status).toBe(202);
    await eventually(async () => {
      const [r] = (await h.t.db.raw(`SELECT count(*)::int AS n FROM email_messages WHERE workspace_id = ? AND status = 'sent'`, [h.workspaceId])).rows as { n: number }[];
      return r!.n === 12;
    });
    // What open/click tracking records (CONTRACT.md §Email): events with properties.run_id and properties.node_id.
    const runs = (await h.t.db.raw(
      `SELECT r.id, c.email FROM runs r JOIN contacts c ON c.id = r.contact_id WHERE r.workspace_id = ? AND r.flow_id = ? ORDER BY c.email`, [h.workspaceId, flowId],
    )).rows as { id: string; email: string }[];
    const tracked = runs.slice(0, 5).flatMap((r, i) => [
      { type: 'email.opened', contact: { email: r.email }, properties: { run_id: r.id, node_id: 'mail' } },
      { type: 'email.opened', contact: { email: r.email }, properties: { run_id: r.id, node_id: 'mail' } }, // a second open of the same message
      ...(i < 2 ? [{ type: 'email.clicked', contact: { email: r.email }, properties: { run_id: r.id, node_id: 'mail', url: 'https://example.com/' } }] : []),
    ]);
    tracked.push({ type: 'email.opened', contact: { email: 'm11@example.com' }, properties: { run_id: 'not-a-uuid', node_id: 'mail' } });
    tracked.push({ type: 'email.bounced', contact: { email: 'm11@example.com' }, properties: { type: 'hard' } } as never);
    expect((await h.call('POST', '/v1/events/batch', { events: tracked })).status).toBe(202);
  }, 120_000);
  afterAll(async () => h?.close());

  it('sent, opened and clicked per node equal SQL over email_messages and the tracked events; bounces as totals', async () => {
    const res = await h.call('GET', '/v1/kpis?from=2026-03-01T00:00:00Z&to=2026-03-03T00:00:00Z');
    expect(res.status).toBe(200);
    const [sql] = (await h.t.db.raw(
      `SELECT (SELECT count(*) FROM email_messages m JOIN runs r ON r.id = m.run_id WHERE m.workspace_id = :ws AND r.flow_id = :flow AND m.node_id = 'mail' AND m.status = 'sent')::int AS sent,
              (SELECT count(DISTINCT properties->>'run_id') FROM events WHERE workspace_id = :ws AND type = 'email.opened'
                  AND properties->>'run_id' IN (SELECT id::text FROM runs WHERE flow_id = :flow))::int AS opened,
              (SELECT count(DISTINCT properties->>'run_id') FROM events WHERE workspace_id = :ws AND type = 'email.clicked'
                  AND properties->>'run_id' IN (SELECT id::text FROM runs WHERE flow_id = :flow))::int AS clicked,
              (SELECT count(*) FROM events WHERE workspace_id = :ws AND type = 'email.bounced')::int AS bounced`,
      { ws: h.workspaceId, flow: flowId },
    )).rows as { sent: number; opened: number; clicked: number; bounced: number }[];
    expect(sql).toEqual({ sent: 12, opened: 5, clicked: 2, bounced: 1 });
    expect(res.body.email.nodes).toEqual([{
      flow_id: flowId, node_id: 'mail', sent: sql!.sent, delivered: null, opened: sql!.opened, clicked: sql!.clicked,
      open_rate: sql!.opened / sql!.sent, click_rate: sql!.clicked / sql!.sent,
    }]);
    expect(res.body.email).toMatchObject({ bounced: sql!.bounced, complained: 0, unsubscribed: 0 });
    const empty = await h.call('GET', '/v1/kpis?from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z');
    expect(empty.body.email).toEqual({ nodes: [], bounced: 0, complained: 0, unsubscribed: 0 });
  });
});
