import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { startReceiver } from '../receiver.ts';
import { webhookKey } from '../../src/channels/webhook.ts';
import { edge, flow as flowDoc, node, type DocNode } from '../flow-doc.ts';

const flow = (name: string, nodes: DocNode[], edges: unknown[], settings: Record<string, unknown> = {}) => flowDoc(name, nodes, edges, { reentry: 'after_exit', ...settings });

describe('flow engine (test clock)', () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  const post = (type: string, email: string, properties: Record<string, unknown> = {}) => h.call('POST', '/v1/events', { type, contact: { email }, properties });
  const contactOf = async (email: string) => (await h.call('GET', `/v1/contacts?email=${encodeURIComponent(email)}`)).body.items[0];
  const runsOf = async (flowId: string, contactId: string) => (await h.call('GET', `/v1/runs?flow_id=${flowId}&contact_id=${contactId}`)).body.items;
  const advance = (by: string) => h.call('POST', '/v1/_test/clock/advance', { by });

  it('versioning: runs waiting on v1 finish on v1 after v2 is published; new runs use v2', async () => {
    const v1 = flow('Versioned', [node('start', 'trigger.event', { event: 'ver.go' }), node('wait', 'delay', { mode: 'duration', duration: 'P1D' }, 100), node('tag', 'action.tag', { add: ['v1'] }, 200)],
      [edge('start', 'wait'), edge('wait', 'tag')]);
    const flowId = await createAndPublish(h, v1);
    await post('ver.go', 'early@example.com');
    await h.engine.drain();
    const early = await contactOf('early@example.com');
    expect((await runsOf(flowId, early.id))[0]).toMatchObject({ status: 'waiting', version: 1 });

    const v2 = structuredClone(v1);
    v2.nodes[2]!.config = { add: ['v2'] };
    expect((await h.call('PUT', `/v1/flows/${flowId}/draft`, v2)).status).toBe(200);
    expect((await h.call('POST', `/v1/flows/${flowId}/publish`, { note: 'tag v2' })).body).toEqual({ version: 2, plugin_pins: {}, pin_changes: [] });
    await post('ver.go', 'late@example.com');
    await h.engine.drain();
    const late = await contactOf('late@example.com');
    expect((await runsOf(flowId, late.id))[0]).toMatchObject({ status: 'waiting', version: 2 });

    expect((await advance('P1D')).status).toBe(200);
    expect((await contactOf('early@example.com')).tags).toEqual(['v1']);
    expect((await contactOf('late@example.com')).tags).toEqual(['v2']);
    expect((await runsOf(flowId, early.id))[0]).toMatchObject({ status: 'completed', version: 1 });
    const got = await h.call('GET', `/v1/flows/${flowId}`);
    expect(got.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect((await h.call('GET', `/v1/flows/${flowId}/versions/1`)).body.document.nodes[2].config).toEqual({ add: ['v1'] });
  });

  it('nurture: clickers and non-clickers take the right branches; a goal event mid-delay converts the run', async () => {
    const doc = flow('Nurture', [
      node('start', 'trigger.event', { event: 'trial.started' }),
      node('email1', 'action.webhook', { url: `${receiver.url}/email`, body: { to: '{{ contact.email }}', template: 'welcome' } }, 100),
      node('clicked', 'wait_for_event', { event: 'email.clicked', timeout: 'P3D' }, 200),
      node('tag_clicked', 'action.tag', { add: ['clicked'] }, 300),
      node('pause', 'delay', { mode: 'duration', duration: 'P2D' }, 400),
      node('email2', 'action.webhook', { url: `${receiver.url}/email`, body: { to: '{{ contact.email }}', template: 'follow-up' } }, 500),
      node('tag_cold', 'action.tag', { add: ['not_clicked'] }, 300),
    ], [
      edge('start', 'email1'), edge('email1', 'clicked'), edge('clicked', 'tag_clicked', 'event'), edge('clicked', 'tag_cold', 'timeout'),
      edge('tag_clicked', 'pause'), edge('pause', 'email2'),
    ], { goal: { event: 'demo.booked' }, exit_on: [{ event: 'contact.unsubscribed' }] });
    const flowId = await createAndPublish(h, doc);
    const before = receiver.received.length;
    for (const who of ['clicker', 'cold', 'booker']) await post('trial.started', `${who}@example.com`);
    await h.engine.drain();
    const sent = receiver.received.slice(before);
    expect(sent).toHaveLength(3);
    // Signed body and the step's idempotency key.
    for (const r of sent) {
      expect(r.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}:email1$/);
      const expected = `v1=${createHmac('sha256', webhookKey(Buffer.from('a'.repeat(64), 'hex'), h.workspaceId)).update(`${r.headers['x-cairn-timestamp']}.${r.body}`).digest('hex')}`;
      expect(r.headers['x-cairn-signature']).toBe(expected);
      expect(JSON.parse(r.body)).toMatchObject({ template: 'welcome' });
    }
    expect(sent.map((r) => JSON.parse(r.body).to).sort()).toEqual(['booker@example.com', 'clicker@example.com', 'cold@example.com']);

    await advance('P1D');
    await post('email.clicked', 'clicker@example.com');
    await post('email.clicked', 'booker@example.com');
    await h.engine.drain();
    const booker = await contactOf('booker@example.com');
    expect((await runsOf(flowId, booker.id))[0]).toMatchObject({ status: 'waiting', current_node_id: 'pause' });
    await post('demo.booked', 'booker@example.com'); // goal, while the run sits in the P2D delay
    await h.engine.drain();
    expect((await runsOf(flowId, booker.id))[0]).toMatchObject({ status: 'converted' });

    await advance('P3D');
    const clicker = await contactOf('clicker@example.com');
    const cold = await contactOf('cold@example.com');
    expect(clicker.tags).toEqual(['clicked']);
    expect(cold.tags).toEqual(['not_clicked']);
    expect((await contactOf('booker@example.com')).tags).toEqual(['clicked']);
    expect((await runsOf(flowId, clicker.id))[0]).toMatchObject({ status: 'completed' });
    expect((await runsOf(flowId, cold.id))[0]).toMatchObject({ status: 'completed' });
    const followUps = receiver.received.slice(before).filter((r) => JSON.parse(r.body).template === 'follow-up');
    expect(followUps.map((r) => JSON.parse(r.body).to)).toEqual(['clicker@example.com']);

    const run = await h.call('GET', `/v1/runs/${(await runsOf(flowId, cold.id))[0].id}`);
    expect(run.body.steps.map((s: { node_id: string }) => s.node_id)).toEqual(['start', 'email1', 'clicked', 'tag_cold']);
    expect(run.body.steps[2].output).toEqual({ handle: 'timeout' });
    const stats = (await h.call('GET', `/v1/flows/${flowId}/stats`)).body;
    expect(stats.runs).toMatchObject({ active: 0, completed: 2, converted: 1 });
    expect(stats.nodes.pause).toMatchObject({ entered: 2, completed: 1, waiting: 0 });
  });

  it('exit_on ends a waiting run as exited', async () => {
    const doc = flow('Exit', [node('start', 'trigger.event', { event: 'exit.go' }), node('wait', 'delay', { mode: 'duration', duration: 'P5D' }, 100), node('tag', 'action.tag', { add: ['late'] }, 200)],
      [edge('start', 'wait'), edge('wait', 'tag')], { exit_on: [{ event: 'contact.unsubscribed' }] });
    const flowId = await createAndPublish(h, doc);
    await post('exit.go', 'leaver@example.com');
    await h.engine.drain();
    await post('contact.unsubscribed', 'leaver@example.com');
    await h.engine.drain();
    const c = await contactOf('leaver@example.com');
    expect((await runsOf(flowId, c.id))[0]).toMatchObject({ status: 'exited' });
    await advance('P6D');
    expect((await contactOf('leaver@example.com')).tags).toEqual([]);
  });

  it('re-entry: never, after_exit and always under 20 concurrent identical events', async () => {
    const ids: Record<string, string> = {};
    for (const reentry of ['never', 'after_exit', 'always']) {
      ids[reentry] = await createAndPublish(h, flow(`Reentry ${reentry}`, [
        node('start', 'trigger.event', { event: 'reenter.ping' }), node('wait', 'delay', { mode: 'duration', duration: 'PT1H' }, 100),
      ], [edge('start', 'wait')], { reentry }));
    }
    const burst = () => Promise.all(Array.from({ length: 20 }, () => post('reenter.ping', 'repeat@example.com')));
    const count = async (flowId: string) => Number((await h.t.db.raw(`SELECT count(*) AS n FROM runs WHERE flow_id = ?`, [flowId])).rows[0].n);
    expect((await burst()).every((r) => r.status === 202)).toBe(true);
    await h.engine.drain();
    expect(await count(ids.never!)).toBe(1);
    expect(await count(ids.after_exit!)).toBe(1);
    expect(await count(ids.always!)).toBe(20);
    await advance('PT2H'); // every run ends
    await burst();
    await h.engine.drain();
    expect(await count(ids.never!)).toBe(1);
    expect(await count(ids.after_exit!)).toBe(2);
    expect(await count(ids.always!)).toBe(40);
  });

  it('refuses bad documents with 4xx and reports every problem at once', async () => {
    const bad = flow('Seven problems', [
      node('start', 'trigger.event', { event: 'x' }),
      node('start2', 'trigger.event', { event: 'y' }, 50), // 1: a second trigger
      node('cond', 'condition', { rule: { all: [{ fact: 'contact', path: '$.properties.a', operator: 'noSuchOperator', value: 1 }] } }, 100), // 2: operator; 3: no false edge
      node('mystery', 'action.teleport', {}, 200), // 4: unknown type
      node('wait', 'delay', { mode: 'duration', duration: 'three days' }, 300), // 5: bad duration
      node('hook', 'action.webhook', { url: 'http://example.com', body: { text: '{{ contact.email ' } }, 400), // 6: broken Liquid
    ], [edge('start', 'cond'), edge('cond', 'mystery', 'true'), edge('mystery', 'wait'), edge('wait', 'hook'), edge('hook', 'ghost')]); // 7: dangling edge
    const created = await h.call('POST', '/v1/flows', bad);
    expect(created.status).toBe(201); // drafts may be incomplete
    const published = await h.call('POST', `/v1/flows/${created.body.id}/publish`, {});
    expect(published.status).toBe(422);
    const errors = published.body.errors as { path: string; node_id?: string; message: string }[];
    expect(errors.length).toBeGreaterThanOrEqual(7);
    for (const id of ['start2', 'cond', 'mystery', 'wait', 'hook']) expect(errors.some((e) => e.node_id === id)).toBe(true);
    expect(errors.every((e) => typeof e.path === 'string')).toBe(true);
    const validated = await h.call('POST', `/v1/flows/${created.body.id}/validate`);
    expect(validated.body.valid).toBe(false);
    expect(validated.body.errors).toEqual(errors);

    const cycle = flow('Cycle', [node('start', 'trigger.event', { event: 'c' }), node('a', 'action.tag', { add: ['a'] }, 100), node('b', 'action.tag', { add: ['b'] }, 200)],
      [edge('start', 'a'), edge('a', 'b'), edge('b', 'a')]);
    const c = await h.call('POST', '/v1/flows', cycle);
    expect((await h.call('POST', `/v1/flows/${c.body.id}/publish`, {})).status).toBe(422);
    expect((await h.call('POST', '/v1/flows', { schema: 'nope' })).status).toBe(400);
    const huge = flow('Huge', [node('start', 'trigger.event', { event: 'h', padding: 'x'.repeat(5 * 1024 * 1024) })], []);
    expect((await h.call('POST', '/v1/flows', huge)).status).toBe(413);
  });

  it('dry run shows the path and actions without side effects', async () => {
    const doc = flow('Dry', [
      node('start', 'trigger.event', { event: 'dry.go' }),
      node('cond', 'condition', { rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'pro' }] } }, 100),
      node('hook', 'action.webhook', { url: `${receiver.url}/dry`, body: { hi: '{{ contact.email }}' } }, 200),
      node('tag', 'action.tag', { add: ['free'] }, 200),
    ], [edge('start', 'cond'), edge('cond', 'hook', 'true'), edge('cond', 'tag', 'false')]);
    const created = await h.call('POST', '/v1/flows', doc);
    const before = receiver.received.length;
    const r = await h.call('POST', `/v1/flows/${created.body.id}/test`, { contact: { email: 'dry@example.com', properties: { plan: 'pro' } }, event: { type: 'dry.go' } });
    expect(r.status).toBe(200);
    expect(r.body.path).toEqual(['start', 'cond', 'hook']);
    expect(r.body.actions).toEqual([{ node_id: 'hook', type: 'action.webhook', effect: { would_call: expect.objectContaining({ url: `${receiver.url}/dry`, body: { hi: 'dry@example.com' } }) } }]);
    expect(receiver.received.length).toBe(before);
    expect((await h.call('GET', '/v1/contacts?email=dry%40example.com')).body.items).toEqual([]);
  });

  it('A dry run of a flow whose pool has only a fallback owner available reports the fallback owner', async () => {
    const away = await h.call('POST', '/v1/owners', { name: 'Away', email: 'away@example.com', available: false });
    const full = await h.call('POST', '/v1/owners', { name: 'Full', email: 'full@example.com', capacity: 0 });
    const backup = await h.call('POST', '/v1/owners', { name: 'Backup', email: 'backup@example.com' });
    const pool = await h.call('POST', '/v1/routing-pools', { key: 'dry-fallback', owner_ids: [away.body.id, full.body.id], fallback_owner_id: backup.body.id });
    expect(pool.status).toBe(201);
    const poolBefore = (await h.call('GET', '/v1/routing-pools')).body;
    const created = await h.call('POST', '/v1/flows', flow('Dry fallback', [
      node('start', 'trigger.event', { event: 'dry.route' }),
      node('assign', 'action.assign_owner', { pool: 'dry-fallback', strategy: 'weighted' }, 100),
    ], [edge('start', 'assign')]));
    const r = await h.call('POST', `/v1/flows/${created.body.id}/test`, { contact: { email: 'lead@example.com' }, event: { type: 'dry.route' } });
    expect(r.status).toBe(200);
    expect(r.body.steps.find((s: { node_id: string }) => s.node_id === 'assign')).toMatchObject({
      status: 'completed', output: { owner_id: backup.body.id, owner_name: 'Backup', reason: 'fallback' },
    });
    // A preview: the pool's cursor and the owners' loads are as they were.
    expect((await h.call('GET', '/v1/routing-pools')).body).toEqual(poolBefore);
    expect((await h.call('GET', `/v1/owners/${backup.body.id}`)).body.assigned_count).toBe(0);
  });

  it('runs API: cancel a waiting run; retry a failed run at its failed step', async () => {
    let failing = true;
    const flaky = await startReceiver(() => (failing ? { status: 400, body: { error: 'bad' } } : { status: 200, body: { ok: true } }));
    try {
      const doc = flow('Runs API', [
        node('start', 'trigger.event', { event: 'runs.go' }),
        node('hook', 'action.webhook', { url: `${flaky.url}/x` }, 100),
        node('wait', 'delay', { mode: 'duration', duration: 'P1D' }, 200),
        node('tag', 'action.tag', { add: ['finished'] }, 300),
      ], [edge('start', 'hook'), edge('hook', 'wait'), edge('wait', 'tag')]);
      const flowId = await createAndPublish(h, doc);
      await post('runs.go', 'retry@example.com');
      await h.engine.drain();
      const retryC = await contactOf('retry@example.com');
      const failed = (await runsOf(flowId, retryC.id))[0];
      expect(failed).toMatchObject({ status: 'failed', last_node_id: 'hook' });
      expect(failed.error.message).toMatch(/answered 400/);
      expect((await h.call('POST', `/v1/runs/${failed.id}/cancel`)).status).toBe(409);

      failing = false;
      const retried = await h.call('POST', `/v1/runs/${failed.id}/retry`);
      expect(retried.status).toBe(200);
      await h.engine.drain();
      const waiting = await h.call('GET', `/v1/runs/${failed.id}`);
      expect(waiting.body).toMatchObject({ status: 'waiting', current_node_id: 'wait' });
      expect(waiting.body.steps.map((s: { node_id: string; status: string }) => `${s.node_id}:${s.status}`)).toEqual(['start:completed', 'hook:failed', 'hook:completed']);
      expect((await h.call('POST', `/v1/runs/${failed.id}/retry`)).status).toBe(409);

      const cancelled = await h.call('POST', `/v1/runs/${failed.id}/cancel`);
      expect(cancelled.body.status).toBe('cancelled');
      await advance('P2D');
      expect((await contactOf('retry@example.com')).tags).toEqual([]);
      const stats = (await h.call('GET', `/v1/flows/${flowId}/stats`)).body;
      expect(stats.runs).toMatchObject({ active: 0, failed: 0, cancelled: 1 });
      expect(stats.nodes.wait.waiting).toBe(0);
      expect((await h.call('POST', `/v1/runs/00000000-0000-7000-8000-000000000000/cancel`)).status).toBe(404);
    } finally {
      await flaky.close();
    }
  });

  it('retry of a failed run is refused (409) while the contact has re-entered the exclusive flow and that run is open', async () => {
    let failing = true;
    const flaky = await startReceiver(() => (failing ? { status: 400, body: { error: 'bad' } } : { status: 200, body: { ok: true } }));
    try {
      const flowId = await createAndPublish(h, flow('Retry while re-entered', [
        node('start', 'trigger.event', { event: 'again.go' }),
        node('hook', 'action.webhook', { url: `${flaky.url}/x` }, 100),
        node('wait', 'delay', { mode: 'duration', duration: 'P1D' }, 200),
      ], [edge('start', 'hook'), edge('hook', 'wait')]));
      await post('again.go', 'again@example.com');
      await h.engine.drain();
      const c = await contactOf('again@example.com');
      const [failed] = await runsOf(flowId, c.id);
      expect(failed).toMatchObject({ status: 'failed' });
      failing = false;
      await post('again.go', 'again@example.com'); // the failed run has ended: after_exit lets the contact in again
      await h.engine.drain();
      const runs = await runsOf(flowId, c.id);
      expect(runs.map((r: { status: string }) => r.status).sort()).toEqual(['failed', 'waiting']);
      const refused = await h.call('POST', `/v1/runs/${failed.id}/retry`);
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toMatch(/already has an open run/);
      expect((await h.call('GET', `/v1/runs/${failed.id}`)).body.status).toBe('failed');
    } finally {
      await flaky.close();
    }
  });

  it('a goal event in the same batch as the trigger converts the run before its first step; counters stay true', async () => {
    const flowId = await createAndPublish(h, flow('Same batch goal', [
      node('start', 'trigger.event', { event: 'trial.begun' }), node('wait', 'delay', { mode: 'duration', duration: 'P1D' }, 100),
    ], [edge('start', 'wait')], { goal: { event: 'trial.converted' } }));
    const r = await h.call('POST', '/v1/events/batch', { events: [
      { type: 'trial.begun', contact: { email: 'quick@example.com' } },
      { type: 'trial.converted', contact: { email: 'quick@example.com' } },
    ] });
    expect(r.status).toBe(202);
    await h.engine.drain();
    const c = await contactOf('quick@example.com');
    expect((await runsOf(flowId, c.id))[0].status).toBe('converted');
    expect((await h.call('GET', `/v1/flows/${flowId}/stats`)).body.runs).toMatchObject({ active: 0, converted: 1 });
  });
});
