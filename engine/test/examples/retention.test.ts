import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, leadRoutingFlow, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';
import { contactByEmail, loadExample, outboxSubjects, post, runStatuses, samplesOf } from './example-kit.ts';

const advanceTo = (h: Harness, to: string) => h.call('POST', '/v1/_test/clock/advance', { to });

/** examples/retention as its README tells it, on the test clock. */
describe('retention example', () => {
  let h: Harness;
  let flowId: string;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    flowId = await createAndPublish(h, loadExample('retention', 'flow.json'));
  });
  afterAll(async () => h?.close());

  it('sample events: Olga gets the offer, Ravi the reminder and renews (converted), Kim the offer then a task for her owner', async () => {
    // Owners come from routing: the lead-routing example gives Olga and Kim one.
    await seedEnterprisePool(h);
    await createAndPublish(h, leadRoutingFlow());
    for (const email of ['olga@fjord.example', 'kim@harbor.example']) {
      await post(h, { type: 'lead.created', contact: { email, properties: { employees: 80, country: 'CA' } } });
    }
    const { contacts } = loadExample('retention', 'sample-events.json') as { contacts: Record<string, unknown>[] };
    for (const c of contacts) expect((await h.call('POST', '/v1/contacts', c)).status).toBeLessThan(300);
    await h.engine.drain();
    const [renewed] = samplesOf('retention');
    expect((await contactByEmail(h, 'olga@fjord.example')).timezone).toBe('Europe/Oslo');

    // 30 days before each renewal, at 09:00 on the contact's clock.
    await advanceTo(h, '2026-03-25T11:59:00Z');
    expect(await outboxSubjects(h, 'olga@fjord.example')).toEqual(['We saved you 20% on your Pro renewal']);
    expect(await outboxSubjects(h, 'ravi@lumen.example')).toEqual(['Your Team plan renews on April 20']);
    expect(await outboxSubjects(h, 'kim@harbor.example')).toEqual(['We saved you 20% on your Pro renewal']);
    expect((await contactByEmail(h, 'olga@fjord.example')).properties).toMatchObject({ winback_offer: 'COMEBACK20', winback_offer_for: '2026-04-15' });

    await advanceTo(h, renewed!.occurred_at!);
    await post(h, renewed!);
    expect(await runStatuses(h, flowId, 'ravi@lumen.example')).toEqual(['converted']);
    expect((await contactByEmail(h, 'ravi@lumen.example')).tags).toEqual(['renewed']);

    // 14 days without a renewal: a task for the owner, and the churn-risk tag.
    await advanceTo(h, '2026-04-03T00:00:00Z');
    for (const email of ['olga@fjord.example', 'kim@harbor.example']) {
      const c = await contactByEmail(h, email);
      expect(c.tags).toEqual(['churn-risk']);
      const tasks = (await h.call('GET', `/v1/tasks?owner_id=${c.owner_id}`)).body.items.filter((t: { contact_id: string }) => t.contact_id === c.id);
      expect(tasks.map((t: { title: string }) => t.title)).toEqual([`Renewal at risk: ${email}`]);
      expect(await runStatuses(h, flowId, email)).toEqual(['completed']);
    }
  });
});
