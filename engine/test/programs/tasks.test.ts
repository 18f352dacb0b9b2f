import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

/** Lead routing with owner capacity and tasks, through the public API (manual clock). */
describe('owner tasks and capacity', () => {
  let h: Harness;
  const owner: Record<string, string> = {};
  beforeAll(async () => {
    h = await startHarness();
    for (const [name, capacity] of [['ana', 1], ['ben', 1], ['queue', null]] as const) {
      owner[name] = (await h.call('POST', '/v1/owners', { name, email: `${name}@example.com`, capacity })).body.id;
    }
    expect((await h.call('POST', '/v1/routing-pools', { key: 'sales', owner_ids: [owner.ana, owner.ben], fallback_owner_id: owner.queue })).status).toBe(201);
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Route and task', settings: { reentry: 'always' },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.created' } },
        { id: 'assign', type: 'action.assign_owner', position: { x: 0, y: 100 }, config: { pool: 'sales', strategy: 'round_robin' } },
        { id: 'task', type: 'action.create_task', position: { x: 0, y: 200 }, config: { title: 'Call {{ contact.email }}', due_in: 'PT2H' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'assign' }, { id: 'e2', source: 'assign', target: 'task' }],
    });
  });
  afterAll(async () => h?.close());

  const lead = async (email: string) => {
    const r = await h.call('POST', '/v1/events', { type: 'lead.created', contact: { email } });
    expect(r.status).toBe(202);
    await h.engine.drain();
    return r.body.contact_id as string;
  };
  const assignStep = async (contactId: string) => {
    const runs = await h.call('GET', `/v1/runs?contact_id=${contactId}`);
    const run = await h.call('GET', `/v1/runs/${runs.body.items[0].id}`);
    return run.body.steps.find((s: { node_id: string }) => s.node_id === 'assign').output;
  };

  it('a routed lead\'s task appears in its owner\'s inbox; an owner at capacity receives none until the task is done', async () => {
    const c1 = await lead('one@example.com');
    const c2 = await lead('two@example.com');
    const first = await assignStep(c1);
    const second = await assignStep(c2);
    expect(first).toMatchObject({ reason: 'rotation' });
    expect(new Set([first.owner_id, second.owner_id])).toEqual(new Set([owner.ana, owner.ben]));

    const inbox = await h.call('GET', `/v1/tasks?owner_id=${first.owner_id}&status=open`);
    expect(inbox.status).toBe(200);
    expect(inbox.body.items).toHaveLength(1);
    expect(inbox.body.items[0]).toMatchObject({ contact_id: c1, owner_id: first.owner_id, status: 'open', title: 'Call one@example.com', due_at: '2026-03-02T11:00:00.000Z' });
    expect((await h.call('GET', `/v1/owners/${first.owner_id}`)).body.assigned_count).toBe(1);

    // Both at capacity: the third lead goes to the fallback owner, and the step says why.
    const c3 = await lead('three@example.com');
    const third = await assignStep(c3);
    expect(third).toMatchObject({ owner_id: owner.queue, reason: 'fallback' });
    expect(third.detail).toMatch(/no available owner/);

    // Completing the first task releases that owner's capacity and records task.completed.
    const done = await h.call('PATCH', `/v1/tasks/${inbox.body.items[0].id}`, { status: 'done' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'done', completed_at: '2026-03-02T09:00:00.000Z' });
    expect((await h.call('GET', `/v1/owners/${first.owner_id}`)).body.assigned_count).toBe(0);
    expect((await h.call('GET', `/v1/tasks?owner_id=${first.owner_id}&status=open`)).body.items).toHaveLength(0);
    expect((await h.call('GET', `/v1/tasks?owner_id=${first.owner_id}&status=done`)).body.items).toHaveLength(1);
    const timeline = await h.call('GET', `/v1/contacts/${c1}/timeline`);
    expect(JSON.stringify(timeline.body)).toContain('task.completed');

    const c4 = await lead('four@example.com');
    expect(await assignStep(c4)).toMatchObject({ owner_id: first.owner_id, reason: 'rotation' });
    // Completing twice changes nothing more.
    expect((await h.call('PATCH', `/v1/tasks/${inbox.body.items[0].id}`, { status: 'done' })).status).toBe(200);
    expect((await h.call('GET', `/v1/owners/${first.owner_id}`)).body.assigned_count).toBe(1);
  });

  it('reassigning an open task moves its lead: the old owner\'s capacity is released, the contact\'s owner changes', async () => {
    const c = await lead('five@example.com');
    const step = await assignStep(c);
    const task = (await h.call('GET', `/v1/tasks?contact_id=${c}`)).body.items[0];
    const before = (await h.call('GET', `/v1/owners/${step.owner_id}`)).body.assigned_count;
    const queueBefore = (await h.call('GET', `/v1/owners/${owner.ben}`)).body.assigned_count;
    const target = step.owner_id === owner.ben ? owner.ana : owner.ben;
    const moved = await h.call('PATCH', `/v1/tasks/${task.id}`, { owner_id: target });
    expect(moved.status).toBe(200);
    expect(moved.body.owner_id).toBe(target);
    expect((await h.call('GET', `/v1/contacts/${c}`)).body.owner_id).toBe(target);
    expect((await h.call('GET', `/v1/owners/${step.owner_id}`)).body.assigned_count).toBe(before - 1);
    if (target === owner.ben) expect((await h.call('GET', `/v1/owners/${owner.ben}`)).body.assigned_count).toBe(queueBefore + 1);
  });

  it('erasing a contact releases its open lead', async () => {
    const c = await lead('gone@example.com');
    const step = await assignStep(c);
    const before = (await h.call('GET', `/v1/owners/${step.owner_id}`)).body.assigned_count;
    expect((await h.call('DELETE', `/v1/contacts/${c}`)).status).toBeLessThan(300);
    expect((await h.call('GET', `/v1/owners/${step.owner_id}`)).body.assigned_count).toBe(before - 1);
  });

  it('refuses bad task input with paths and hides other workspaces\' tasks', async () => {
    const task = (await h.call('GET', '/v1/tasks?limit=1')).body.items[0];
    const bad = await h.call('PATCH', `/v1/tasks/${task.id}`, { status: 'closed' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('/status');
    const unknownOwner = await h.call('PATCH', `/v1/tasks/${task.id}`, { owner_id: '00000000-0000-7000-8000-000000000000' });
    expect([400, 409]).toContain(unknownOwner.status);
    expect((await h.call('GET', '/v1/tasks?status=someday')).status).toBe(400);
    expect((await h.call('PATCH', '/v1/tasks/00000000-0000-7000-8000-000000000000', { status: 'done' })).status).toBe(404);
  });
});
