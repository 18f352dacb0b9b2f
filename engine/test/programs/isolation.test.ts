import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createWorkspace } from '../../src/crm/workspaces.ts';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

/** Programs and tasks never cross workspaces, and roles apply. */
describe('lifecycle programs: tenancy and roles', () => {
  let h: Harness;
  let other: string;
  let viewer: string;
  let ingest: string;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    h = await startHarness();
    const b = await createWorkspace(h.t.db, { slug: `other-${Date.now()}` });
    other = (await createApiKey(h.t.db, { workspaceId: b.id, role: 'admin' })).key;
    viewer = (await createApiKey(h.t.db, { workspaceId: h.workspaceId, role: 'viewer' })).key;
    ingest = (await createApiKey(h.t.db, { workspaceId: h.workspaceId, role: 'ingest' })).key;
    // Workspace A: an owner, a pool, a flow that creates a task, scoring, a loyalty and a referral program.
    const owner = (await h.call('POST', '/v1/owners', { name: 'ana', email: 'ana@example.com' })).body.id;
    await h.call('POST', '/v1/routing-pools', { key: 'sales', owner_ids: [owner] });
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Task', settings: { reentry: 'always' },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.created' } },
        { id: 'assign', type: 'action.assign_owner', position: { x: 0, y: 100 }, config: { pool: 'sales', strategy: 'round_robin' } },
        { id: 'task', type: 'action.create_task', position: { x: 0, y: 200 }, config: { title: 'Call' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'assign' }, { id: 'e2', source: 'assign', target: 'task' }],
    });
    await h.call('PUT', '/v1/scoring', { rules: [{ event: 'lead.created', points: 5 }] });
    await h.call('POST', '/v1/loyalty-programs', { key: 'stars', earn: [{ event: 'order.completed', points_per_unit: 1, property: 'amount' }] });
    await h.call('POST', '/v1/referral-programs', { key: 'friends', qualifying_event: 'order.completed', referrer_reward: 5, referee_reward: 5 });
    ids.contact = (await h.call('POST', '/v1/events', { type: 'lead.created', contact: { email: 'lead@example.com' } })).body.contact_id;
    await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'lead@example.com' }, properties: { amount: 40 } });
    await h.engine.drain();
    ids.task = (await h.call('GET', '/v1/tasks')).body.items[0].id;
    ids.code = (await h.call('GET', `/v1/contacts/${ids.contact}/referral-code?program=friends`)).body.code;
  });
  afterAll(async () => h?.close());

  it('another workspace sees none of it (404, empty lists, unknown programs)', async () => {
    expect((await h.call('GET', `/v1/tasks/${ids.task}`, undefined, other)).status).toBe(404);
    expect((await h.call('PATCH', `/v1/tasks/${ids.task}`, { status: 'done' }, other)).status).toBe(404);
    expect((await h.call('GET', '/v1/tasks', undefined, other)).body.items).toEqual([]);
    expect((await h.call('GET', `/v1/contacts/${ids.contact}/score`, undefined, other)).status).toBe(404);
    expect((await h.call('GET', '/v1/scoring', undefined, other)).body.rules).toEqual([]);
    expect((await h.call('GET', `/v1/contacts/${ids.contact}/referral-code?program=friends`, undefined, other)).status).toBe(404);
    expect((await h.call('GET', `/v1/rewards?contact_id=${ids.contact}`, undefined, other)).body.items).toEqual([]);
    expect((await h.call('GET', '/v1/loyalty-programs', undefined, other)).body.items).toEqual([]);
    // Same program key in B: A's contact is not B's, and A's code means nothing in B.
    await h.call('POST', '/v1/loyalty-programs', { key: 'stars', earn: [{ event: 'order.completed', points_per_unit: 1, property: 'amount' }] }, other);
    await h.call('POST', '/v1/referral-programs', { key: 'friends', qualifying_event: 'order.completed', referrer_reward: 5, referee_reward: 5 }, other);
    expect((await h.call('GET', `/v1/contacts/${ids.contact}/loyalty?program=stars`, undefined, other)).status).toBe(404);
    const redeem = await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: ids.contact, points: 1, idempotency_key: 'x' }, other);
    expect(redeem.status).toBe(400);
    expect(redeem.body.errors[0].path).toBe('/contact_id');
    const stranger = (await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'b@example.com' }, properties: { amount: 40, referral_code: ids.code } }, other)).body.contact_id;
    await h.engine.drain();
    expect((await h.call('GET', `/v1/rewards?contact_id=${stranger}`, undefined, other)).body.items).toEqual([]);
    expect((await h.call('GET', `/v1/contacts/${ids.contact}/loyalty?program=stars`)).body.balance).toBe(40);
  });

  it('roles: viewers read but do not write programs or tasks; ingest keys reach none of it', async () => {
    expect((await h.call('GET', '/v1/tasks', undefined, viewer)).status).toBe(200);
    expect((await h.call('PATCH', `/v1/tasks/${ids.task}`, { status: 'done' }, viewer)).status).toBe(403);
    expect((await h.call('PUT', '/v1/scoring', { rules: [] }, viewer)).status).toBe(403);
    expect((await h.call('POST', '/v1/loyalty-programs/stars/redeem', { contact_id: ids.contact, points: 1, idempotency_key: 'v' }, viewer)).status).toBe(403);
    expect((await h.call('GET', '/v1/rewards', undefined, ingest)).status).toBe(403);
    expect((await h.call('GET', '/v1/scoring', undefined, ingest)).status).toBe(403);
  });
});
