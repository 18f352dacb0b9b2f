import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, leadRoutingFlow, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';
import { contactByEmail, loadExample, outboxSubjects, post, runStatuses, samplesOf } from './example-kit.ts';

/** examples/advocacy as its README tells it. */
describe('advocacy example', () => {
  let h: Harness;
  let flowId: string;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    flowId = await createAndPublish(h, loadExample('advocacy', 'flow.json'));
  });
  afterAll(async () => h?.close());

  it('sample events: Priya gets the review request and becomes an advocate, Dan makes a task for his owner, Yuki is passive', async () => {
    // Owners come from routing: the lead-routing example gives Dan one.
    await seedEnterprisePool(h);
    await createAndPublish(h, leadRoutingFlow());
    const [priya, dan, yuki, review] = samplesOf('advocacy');
    await post(h, { type: 'lead.created', contact: { email: dan!.contact.email, properties: { employees: 120, country: 'US' } } });
    const { id: danId, owner_id: owner } = await contactByEmail(h, dan!.contact.email);
    expect(owner).toBeTruthy();
    for (const e of [priya!, dan!, yuki!]) await post(h, e);

    expect(await outboxSubjects(h, 'priya@mosaic.example')).toEqual(['Thanks for the 10/10, Priya!']);
    const tasks = (await h.call('GET', `/v1/tasks?owner_id=${owner}`)).body.items as { title: string; body: string; contact_id: string }[];
    expect(tasks).toEqual([expect.objectContaining({ title: 'Detractor: dan@ledger.example scored 3/10', contact_id: danId })]);
    expect(tasks[0]!.body).toContain('Emails went out twice last month.');
    expect((await contactByEmail(h, 'dan@ledger.example')).tags).toEqual(['detractor']);
    expect((await contactByEmail(h, 'yuki@kite.example')).tags).toEqual(['passive']);
    expect(await outboxSubjects(h, 'yuki@kite.example')).toEqual([]);

    await post(h, review!);
    const p = await contactByEmail(h, 'priya@mosaic.example');
    expect(p.tags).toEqual(['advocate']);
    const confirmed = await h.t.db('events').where({ workspace_id: h.workspaceId, contact_id: p.id, type: 'advocate.confirmed' }).select('properties');
    expect(confirmed.map((e) => e.properties)).toEqual([{ source: 'nps', score: '10' }]);
    for (const email of ['priya@mosaic.example', 'dan@ledger.example', 'yuki@kite.example']) expect(await runStatuses(h, flowId, email)).toEqual(['completed']);
  });
});
