import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES_DIR } from '../../src/flow/examples.ts';
import { createAndPublish, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';

/** examples/routing-sla end to end: assign, 2 h to contact, reassign to someone else, 4 h more, escalate. */
describe('routing SLA example', () => {
  let h: Harness;
  let owners: Record<string, string>;
  beforeAll(async () => {
    h = await startHarness();
    owners = await seedEnterprisePool(h);
    await createAndPublish(h, JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'routing-sla', 'flow.json'), 'utf8')));
  });
  afterAll(async () => h?.close());

  const request = async (email: string) => {
    const r = await h.call('POST', '/v1/events', { type: 'demo.requested', contact: { email } });
    await h.engine.drain();
    return r.body.contact_id as string;
  };
  const runOf = async (contactId: string) => {
    const runs = (await h.call('GET', `/v1/runs?contact_id=${contactId}`)).body.items;
    return (await h.call('GET', `/v1/runs/${runs[0].id}`)).body;
  };
  const openTasks = async (contactId: string) => (await h.call('GET', `/v1/tasks?contact_id=${contactId}&status=open`)).body.items;
  const load = async (ownerId: string) => (await h.call('GET', `/v1/owners/${ownerId}`)).body.assigned_count as number;

  it('contacted within 2 hours: the owner completes the task and the run converts', async () => {
    const c = await request('fast@example.com');
    const [task] = await openTasks(c);
    expect(task.due_at).toBe('2026-03-02T11:00:00.000Z');
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT1H' });
    expect((await h.call('PATCH', `/v1/tasks/${task.id}`, { status: 'done' })).status).toBe(200);
    await h.engine.drain();
    const run = await runOf(c);
    expect(run.status).toBe('converted');
    expect(run.steps.map((s: { node_id: string }) => s.node_id)).not.toContain('reassign');
  });

  it('not contacted within 2 hours: reassigned to a different owner, whose completion converts the run', async () => {
    const c = await request('slow@example.com');
    const first = (await h.call('GET', `/v1/contacts/${c}`)).body.owner_id as string;
    const firstLoad = await load(first);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT2H' });
    const second = (await h.call('GET', `/v1/contacts/${c}`)).body.owner_id as string;
    expect(second).not.toBe(first);
    expect(Object.values(owners)).toContain(second);
    const step = (await runOf(c)).steps.find((s: { node_id: string }) => s.node_id === 'reassign');
    expect(step.output).toMatchObject({ owner_id: second, previous_owner_id: first, reason: 'rotation' });
    expect(await load(first)).toBe(firstLoad - 1); // the first owner's lead was released
    const tasks = await openTasks(c);
    const mine = tasks.find((t: { owner_id: string }) => t.owner_id === second);
    expect(mine.title).toMatch(/^Reassigned/);
    // The first owner's late completion is not the current owner's: the run keeps waiting.
    const old = tasks.find((t: { owner_id: string }) => t.owner_id === first);
    await h.call('PATCH', `/v1/tasks/${old.id}`, { status: 'done' });
    await h.engine.drain();
    expect((await runOf(c)).status).toBe('waiting');
    await h.call('PATCH', `/v1/tasks/${mine.id}`, { status: 'done' });
    await h.engine.drain();
    expect((await runOf(c)).status).toBe('converted');
  });

  it('4 hours more without contact: escalated to the manager with a lead.escalated event', async () => {
    const c = await request('lost@example.com');
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT2H' });
    expect((await runOf(c)).status).toBe('waiting');
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT4H' });
    const run = await runOf(c);
    expect(run.status).toBe('exited');
    const manager = (await openTasks(c)).find((t: { assignee: string | null }) => t.assignee === 'sales-manager@acme.example');
    expect(manager.title).toBe('SLA breached: lost@example.com not contacted 6 hours after a demo request');
    const timeline = (await h.call('GET', `/v1/contacts/${c}/timeline`)).body.items;
    expect(timeline.filter((i: { kind: string; type: string }) => i.kind === 'event' && i.type === 'lead.escalated')).toHaveLength(1);
  });
});
