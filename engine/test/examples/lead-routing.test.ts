import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, leadRoutingFlow, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';
import { contactByEmail, samplesOf } from './example-kit.ts';

/** examples/lead-routing as its README tells it: the samples posted as one batch. */
describe('lead-routing example', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
  });
  afterAll(async () => h?.close());

  it('sample events: Maria (US, 420) and Jean (CA, 50) get an owner; Li (8 employees) and Anna (Germany) are tagged nurture', async () => {
    const owners = await seedEnterprisePool(h);
    const flowId = await createAndPublish(h, leadRoutingFlow());
    const events = samplesOf('lead-routing');
    expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
    await h.engine.drain();
    const byEmail = new Map<string, { owner_id: string | null; tags: string[] }>();
    for (const e of events) byEmail.set(e.contact.email, await contactByEmail(h, e.contact.email));
    const names = Object.fromEntries(Object.entries(owners).map(([name, id]) => [id, name]));
    const routed = [...byEmail].filter(([, c]) => c.owner_id).map(([email, c]) => [email, names[c.owner_id!]]);
    expect(routed.map(([email]) => email).sort()).toEqual(['jean@boreal.example', 'maria@northwind.example']);
    expect(new Set(routed.map(([, name]) => name)).size).toBe(2); // round robin: two leads, two different owners
    const nurtured = [...byEmail].filter(([, c]) => c.tags.includes('nurture')).map(([email]) => email);
    expect(nurtured.sort()).toEqual(['anna@kontor.example', 'li@tinyshop.example']);
    expect(byEmail.get('li@tinyshop.example')!.owner_id).toBeNull();
    expect(byEmail.get('maria@northwind.example')!.tags).toEqual([]);
    const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items as { status: string }[];
    expect(runs.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
  });
});
