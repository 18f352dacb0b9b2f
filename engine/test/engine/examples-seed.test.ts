import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { startHarness, type Harness } from '../engine-harness.ts';
import { EXAMPLES_DIR, loadExamples } from '../../src/flow/examples.ts';

describe('example flows seeding', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());

  it('loads and publishes every example, with the routing pool the lead-routing flow needs', async () => {
    const expected = readdirSync(EXAMPLES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).length;
    expect(await loadExamples(h.ctx, h.workspaceId)).toBe(expected);
    const flows = (await h.call('GET', '/v1/flows')).body.items as { name: string; status: string; published_version: number | null }[];
    expect(flows).toHaveLength(expected);
    expect(flows.every((f) => f.status === 'active' && f.published_version === 1)).toBe(true);

    // The seeded lead-routing flow routes a lead end to end.
    const r = await h.call('POST', '/v1/events', { type: 'lead.created', contact: { email: 'big@example.com', properties: { employees: 400, country: 'US' } } });
    expect(r.status).toBe(202);
    await h.engine.drain();
    const contact = (await h.call('GET', '/v1/contacts?email=big%40example.com')).body.items[0];
    const owners = (await h.call('GET', '/v1/owners')).body.items as { id: string; name: string }[];
    expect(owners.map((o) => o.name).sort()).toEqual(['ana', 'ben', 'chi']);
    expect(owners.map((o) => o.id)).toContain(contact.owner_id);
  });
});
