import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, eventually, startHarness, type Harness } from '../engine-harness.ts';
import { startReceiver } from '../receiver.ts';
import { startMailServer, type MailServer } from '../email/mail-server.ts';
import { createWorkspace } from '../../src/crm/workspaces.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { BACKTEST_TASK, pendingJobs } from '../../src/queue/jobs.ts';
import { edge, node } from '../flow-doc.ts';


/** Every kind of step a backtest must replay: condition, external webhook and email, delay, wait with timeout, goal, exit. */
const onboarding = (url: string) => ({
  schema: 'cairn.flow/v1',
  name: 'Onboarding',
  settings: { reentry: 'after_exit', goal: { event: 'purchase' }, exit_on: [{ event: 'unsubscribed' }] },
  nodes: [
    node('start', 'trigger.event', { event: 'signup' }),
    node('pro', 'condition', { rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'pro' }] } }, 100),
    node('hook', 'action.webhook', { url: `${url}/crm`, body: { email: '{{ contact.email }}' } }, 200),
    node('later', 'delay', { mode: 'duration', duration: 'P1D' }, 300),
    node('paid', 'wait_for_event', { event: 'paid', timeout: 'P2D' }, 400),
    node('thanks', 'action.tag', { add: ['paid'] }, 500),
    node('nudge', 'action.send_email', { subject: 'Still thinking?', text: 'Hello {{ contact.email }}' }, 500),
    node('free', 'action.tag', { add: ['free'] }, 200),
  ],
  edges: [
    edge('start', 'pro'), edge('pro', 'hook', 'true'), edge('pro', 'free', 'false'), edge('hook', 'later'), edge('later', 'paid'),
    edge('paid', 'thanks', 'event'), edge('paid', 'nudge', 'timeout'),
  ],
});

describe('backtest', () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let mail: MailServer;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    receiver = await startReceiver();
    mail = await startMailServer();
    await mail.configure(h);
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
    await mail?.close();
  });

  const post = (type: string, email: string, contact: Record<string, unknown> = {}) => h.call('POST', '/v1/events', { type, contact: { email, ...contact }, properties: {} });
  const advance = (by: string) => h.call('POST', '/v1/_test/clock/advance', { by });
  const rowCounts = async () => {
    const { rows } = await h.t.db.raw(`SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM run_step_history)::int AS steps,
      (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM contacts)::int AS contacts,
      (SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM contacts c) AS contacts_hash, (SELECT count(*) FROM flow_stats)::int AS flow_stats,
      (SELECT md5(string_agg(n::text, ',' ORDER BY flow_id, version, node_id, shard)) FROM node_stats n) AS node_stats`);
    return rows[0];
  };
  const finished = (flowId: string, id: string) => eventually(async () => {
    const got = await h.call('GET', `/v1/flows/${flowId}/backtests/${id}`);
    return got.body.status !== 'running' ? got.body : undefined;
  });

  it("replays a published version over the period it was live with its real runs' per-node counts, and sends or writes nothing", async () => {
    const flowId = await createAndPublish(h, onboarding(receiver.url));
    const from = new Date(Date.parse((await h.call('GET', '/v1/_test/clock')).body.now) - 60_000);
    // A generated history: 24 signups an hour apart, a third on the pro plan; some pay, some purchase (the goal),
    // some unsubscribe (exit) while waiting; a few sign up again later (re-entry after exit).
    for (let i = 0; i < 24; i++) {
      await post('signup', `c${i}@example.com`, { properties: { plan: i % 3 === 0 ? 'pro' : 'free' } });
      if (i % 4 === 1) await post('noise', `c${i}@example.com`);
      await advance('PT1H');
    }
    await advance('PT12H');
    for (let i = 0; i < 24; i += 3) {
      if (i % 9 === 0) await post('paid', `c${i}@example.com`);
      else if (i % 9 === 3) await post('purchase', `c${i}@example.com`);
      else await post('unsubscribed', `c${i}@example.com`);
      await advance('PT20M');
    }
    await advance('P1D');
    for (const i of [0, 3, 6]) await post('signup', `c${i}@example.com`);
    await advance('P4D');
    const to = new Date(Date.parse((await h.call('GET', '/v1/_test/clock')).body.now) + 1000);
    const real = (await h.call('GET', `/v1/flows/${flowId}/stats?version=1`)).body;
    expect(real.nodes.hook.entered).toBeGreaterThan(5);
    expect(real.nodes.nudge.completed).toBeGreaterThan(0);
    expect(real.nodes.thanks.completed).toBeGreaterThan(0);
    expect(real.runs.converted).toBeGreaterThan(0);
    expect(real.runs.exited).toBeGreaterThan(0);

    const before = await rowCounts();
    const webhooks = receiver.received.length;
    const emails = mail.mails.length;
    const started = await h.call('POST', `/v1/flows/${flowId}/backtest`, { from: from.toISOString(), to: to.toISOString(), version: 1 });
    expect(started.status).toBe(202);
    expect(Object.keys(started.body)).toEqual(['id']);
    const result = await finished(flowId, started.body.id);
    expect(result).toMatchObject({ status: 'done', progress: 1, version: 1 });

    for (const [id, counts] of Object.entries(real.nodes as Record<string, { entered: number; completed: number; failed: number; waiting: number }>)) {
      expect({ id, entered: result.nodes[id].entered, completed: result.nodes[id].completed, failed: result.nodes[id].failed, waiting: result.nodes[id].waiting })
        .toEqual({ id, entered: counts.entered, completed: counts.completed, failed: counts.failed, waiting: counts.waiting });
    }
    expect(result.runs).toMatchObject({ completed: real.runs.completed, converted: real.runs.converted, exited: real.runs.exited, failed: real.runs.failed, active: real.runs.active });
    expect(result.nodes.pro.branches).toEqual({ true: real.nodes.hook.entered, false: real.nodes.free.entered });
    expect(result.nodes.paid.timed_out).toBe(real.nodes.nudge.entered);
    expect(result.actions['action.webhook']).toBe(webhooks);
    expect(result.actions['action.send_email']).toBe(emails);
    expect(result.conversion).toEqual({ goal: true, converted: real.runs.converted, started: result.runs.started, rate: real.runs.converted / result.runs.started });
    expect(result.nodes.paid.samples[0].contact_id).toMatch(/^[0-9a-f-]{36}$/);

    // Nothing sent to the receivers, nothing written to runs, steps, events, contacts or stats.
    expect(receiver.received.length).toBe(webhooks);
    expect(mail.mails.length).toBe(emails);
    expect(await rowCounts()).toEqual(before);
    // Kept for later viewing.
    expect((await h.call('GET', `/v1/flows/${flowId}/backtests`)).body.items.map((b: { id: string }) => b.id)).toContain(started.body.id);
  });

  it('a draft is replayed too: a changed condition changes the counts, still without side effects', async () => {
    const flowId = await createAndPublish(h, onboarding(receiver.url));
    const draft = onboarding(receiver.url);
    draft.nodes[1]!.config = { rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'free' }] } };
    expect((await h.call('PUT', `/v1/flows/${flowId}/draft`, draft)).status).toBe(200);
    const before = await rowCounts();
    const webhooks = receiver.received.length;
    const started = await h.call('POST', `/v1/flows/${flowId}/backtest`, { from: '2026-03-01T00:00:00Z', to: '2026-03-20T00:00:00Z' });
    expect(started.status).toBe(202);
    const result = await finished(flowId, started.body.id);
    expect(result).toMatchObject({ status: 'done', version: 'draft' });
    expect(result.nodes.pro.branches.true).toBeGreaterThan(result.nodes.pro.branches.false);
    expect(result.actions['action.webhook']).toBe(result.nodes.pro.branches.true);
    expect(receiver.received.length).toBe(webhooks);
    expect(await rowCounts()).toEqual(before);
  });

  it('compares two backtests of a flow (its version and a changed draft) side by side with per-node differences', async () => {
    const flowId = await createAndPublish(h, onboarding(receiver.url));
    const draft = onboarding(receiver.url);
    draft.nodes[1]!.config = { rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'free' }] } };
    draft.nodes.push(node('extra', 'action.tag', { add: ['x'] }, 600));
    draft.edges.push(edge('free', 'extra'));
    expect((await h.call('PUT', `/v1/flows/${flowId}/draft`, draft)).status).toBe(200);
    const period = { from: '2026-03-01T00:00:00Z', to: '2026-03-20T00:00:00Z' };
    const a = (await h.call('POST', `/v1/flows/${flowId}/backtest`, { ...period, version: 1 })).body.id;
    const b = (await h.call('POST', `/v1/flows/${flowId}/backtest`, period)).body.id;
    const ra = await finished(flowId, a);
    const rb = await finished(flowId, b);
    const cmp = await h.call('GET', `/v1/flows/${flowId}/backtests/compare?a=${a}&b=${b}`);
    expect(cmp.status).toBe(200);
    expect(cmp.body.a).toEqual(ra);
    expect(cmp.body.b).toEqual(rb);
    expect(cmp.body.same_period).toBe(true);
    expect(ra.nodes.hook.entered).toBeGreaterThan(0);
    expect(cmp.body.diff.nodes.hook.entered).toBe(rb.nodes.hook.entered - ra.nodes.hook.entered);
    expect(cmp.body.diff.nodes.hook.entered).not.toBe(0);
    expect(cmp.body.diff.nodes.extra).toMatchObject({ only_in: 'b', entered: rb.nodes.extra.entered });
    expect(cmp.body.diff.actions['action.webhook']).toBe((rb.actions['action.webhook'] ?? 0) - (ra.actions['action.webhook'] ?? 0));
    expect(cmp.body.diff.conversion_rate).toBeCloseTo(rb.conversion.rate - ra.conversion.rate, 12);
    // Missing or unknown ids answer 400/404 problem+json.
    expect((await h.call('GET', `/v1/flows/${flowId}/backtests/compare?a=${a}`)).status).toBe(400);
    expect((await h.call('GET', `/v1/flows/${flowId}/backtests/compare?a=${a}&b=00000000-0000-7000-8000-000000000000`)).status).toBe(404);
  });

  it('a flow with a clock trigger (trigger.schedule, trigger.date) is refused 422 with the node path and the reason', async () => {
    for (const [type, config] of [
      ['trigger.schedule', { cron: '0 9 * * 1' }],
      ['trigger.date', { property: 'renewal_date', offset: '-P30D' }],
    ] as const) {
      const flowId = (await h.call('POST', '/v1/flows', {
        schema: 'cairn.flow/v1', name: `Clock ${type}`, settings: { reentry: 'after_exit', goal: null, exit_on: [] },
        nodes: [node('start', type, config), node('t', 'action.tag', { add: ['x'] }, 100)], edges: [edge('start', 't')],
      })).body.id;
      const res = await h.call('POST', `/v1/flows/${flowId}/backtest`, { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.errors).toEqual([{ path: '/nodes/0/type', message: expect.stringMatching(/clock trigger/) }]);
    }
  });

  it('cancel stops a long backtest within a second and keeps its partial counts', async () => {
    const flowId = await createAndPublish(h, onboarding(receiver.url));
    await post('signup', 'bulk@example.com', { properties: { plan: 'pro' } });
    await h.engine.drain();
    const { rows } = await h.t.db.raw(`SELECT id FROM contacts WHERE workspace_id = ? AND email = 'bulk@example.com'`, [h.workspaceId]);
    // A long history, written straight to the table (the ingestion path is not what this test is about).
    await h.t.db.raw(
      `INSERT INTO events (id, workspace_id, contact_id, type, properties, occurred_at)
       SELECT gen_random_uuid(), ?, ?, CASE WHEN g % 2 = 0 THEN 'signup' ELSE 'noise' END, '{}', timestamptz '2025-06-01' + g * interval '1 second'
         FROM generate_series(1, 600000) AS g`,
      [h.workspaceId, rows[0].id],
    );
    const started = await h.call('POST', `/v1/flows/${flowId}/backtest`, { from: '2025-06-01T00:00:00Z', to: '2025-06-30T00:00:00Z', version: 1 });
    expect(started.status).toBe(202);
    const url = `/v1/flows/${flowId}/backtests/${started.body.id}`;
    await eventually(async () => (await h.call('GET', url)).body.processed_events > 0);
    const cancelledAt = performance.now();
    const cancelled = await h.call('POST', `${url}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await eventually(async () => (await pendingJobs(h.t.db, [BACKTEST_TASK])) === 0, 5000, 10);
    expect(performance.now() - cancelledAt).toBeLessThan(1000);
    const kept = (await h.call('GET', url)).body;
    expect(kept.status).toBe('cancelled');
    expect(kept.processed_events).toBeLessThan(kept.total_events);
    expect(kept.nodes.start.entered).toBeGreaterThan(0);
  });

  it('bad input: from after to, a period over the limit, another workspace’s flow, unknown ids → problem+json', async () => {
    const flowId = await createAndPublish(h, onboarding(receiver.url));
    const send = async (body: unknown, key?: string, id = flowId) => {
      const res = await h.app.inject({ method: 'POST', url: `/v1/flows/${id}/backtest`, headers: { authorization: `Bearer ${key ?? h.key}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      return { status: res.statusCode, body: JSON.parse(res.body) };
    };
    const backwards = await send({ from: '2026-03-10T00:00:00Z', to: '2026-03-01T00:00:00Z' });
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors).toEqual([{ path: '/from', message: 'is not before to' }]);
    const long = await send({ from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(long.status).toBe(400);
    expect(long.body.errors[0].path).toBe('/to');
    const garbled = await send({ from: 'yesterday', to: '2026-01-01T00:00:00Z' });
    expect(garbled.status).toBe(400);
    expect(garbled.body.errors[0].path).toBe('/from');
    expect((await send({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', version: 9 })).status).toBe(404);
    expect((await send({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', version: 'latest' })).status).toBe(400);

    const other = await createWorkspace(h.t.db, { slug: `other-${Math.random().toString(36).slice(2, 8)}` });
    const { key } = await createApiKey(h.t.db, { workspaceId: other.id, role: 'admin' });
    expect((await send({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' }, key)).status).toBe(404);
    const mine = await h.call('POST', `/v1/flows/${flowId}/backtest`, { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' });
    expect((await h.call('GET', `/v1/flows/${flowId}/backtests/${mine.body.id}`, undefined, key)).status).toBe(404);
    expect((await h.call('POST', `/v1/flows/${flowId}/backtests/${mine.body.id}/cancel`, undefined, key)).status).toBe(404);
    expect((await h.call('GET', `/v1/flows/${flowId}/backtests/00000000-0000-7000-8000-000000000000`)).status).toBe(404);
    await finished(flowId, mine.body.id);
  });
});
