import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { createWorkspace } from '../../src/crm/workspaces.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';

/** The list the builder's pickers offer instead of typed JSONPaths. */
describe('GET /v1/fields', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lists the property keys, tags and event properties the workspace\'s data carries, and nothing of another workspace', async () => {
    expect((await h.call('GET', '/v1/fields')).body).toEqual({ contact_properties: [], tags: [], events: [] });
    await h.call('POST', '/v1/contacts', { email: 'a@example.com', properties: { plan: 'pro', 'first name': 'Ann' } });
    await h.call('POST', '/v1/contacts', { email: 'b@example.com', properties: { plan: 'free', country: 'FR' } });
    await h.t.db('contacts').where({ workspace_id: h.workspaceId, email: 'a@example.com' }).update({ tags: ['vip'] });
    await h.t.db('contacts').where({ workspace_id: h.workspaceId, email: 'b@example.com' }).update({ tags: ['beta', 'vip'] });
    await h.call('POST', '/v1/events', { type: 'order.placed', contact: { email: 'a@example.com' }, properties: { total: 40, currency: 'EUR' } });
    await h.call('POST', '/v1/events', { type: 'order.placed', contact: { email: 'b@example.com' }, properties: { total: 12, coupon: 'X' } });
    await h.call('POST', '/v1/events', { type: 'app.opened', contact: { email: 'b@example.com' } });

    // Another workspace in the same database: its keys must not show.
    const ws = await createWorkspace(h.t.db, { slug: `other-${Math.random().toString(36).slice(2, 8)}` });
    const { key } = await createApiKey(h.t.db, { workspaceId: ws.id, role: 'admin' });
    expect((await h.call('POST', '/v1/events', { type: 'other.event', contact: { email: 'z@example.com', properties: { secret_key: 1 } }, properties: { hidden: true } }, key)).status).toBe(202);
    await h.t.db('contacts').where({ workspace_id: ws.id }).update({ tags: ['other'] });
    const fields = await h.call('GET', '/v1/fields');
    expect(fields.status).toBe(200);
    expect(fields.body).toEqual({
      contact_properties: ['country', 'first name', 'plan'],
      tags: ['beta', 'vip'],
      events: [{ type: 'app.opened', properties: [] }, { type: 'order.placed', properties: ['coupon', 'currency', 'total'] }],
    });
  });
});

describe('GET /v1/contacts?q=', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('finds contacts as you type: part of the email in any case, or the start of the external id; wildcards are plain text', async () => {
    await h.call('POST', '/v1/contacts', { email: 'Pia.Pro@Example.com' });
    await h.call('POST', '/v1/contacts', { email: 'fred@example.com', external_id: 'CRM-42' });
    await h.call('POST', '/v1/contacts', { email: 'under_score@example.com' });
    const find = async (q: string) => ((await h.call('GET', `/v1/contacts?q=${encodeURIComponent(q)}`)).body.items as Array<{ email: string }>).map((c) => c.email).sort();
    expect(await find('pia')).toEqual(['Pia.Pro@Example.com']);
    expect(await find('PRO@ex')).toEqual(['Pia.Pro@Example.com']);
    expect(await find('crm-4')).toEqual(['fred@example.com']);
    expect(await find('example.com')).toEqual(['Pia.Pro@Example.com', 'fred@example.com', 'under_score@example.com']);
    expect(await find('_')).toEqual(['under_score@example.com']);
    expect(await find('%')).toEqual([]);
    expect((await h.call('GET', '/v1/contacts?q=')).status).toBe(400);
  });
});

describe('runs carry names', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the runs list names the flow, the contact\'s email and the node it waits at; a run names its nodes', async () => {
    const doc = {
      schema: 'cairn.flow/v1', name: 'Welcome series', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'signed.up' } },
        { id: 'wait', type: 'delay', label: 'Give it a day', position: { x: 0, y: 150 }, config: { mode: 'duration', duration: 'P1D' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'wait' }],
    };
    const flowId = await createAndPublish(h, doc);
    expect((await h.call('POST', '/v1/events', { type: 'signed.up', contact: { email: 'ann@example.com' } })).status).toBe(202);
    await h.engine.drain();
    const list = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items;
    expect(list).toEqual([expect.objectContaining({ flow_name: 'Welcome series', contact_email: 'ann@example.com', status: 'waiting', current_node_id: 'wait', node_label: 'Give it a day' })]);
    const run = (await h.call('GET', `/v1/runs/${list[0].id}`)).body;
    expect(run).toMatchObject({ flow_name: 'Welcome series', contact_email: 'ann@example.com', node_labels: { wait: 'Give it a day' } });
  });
});
