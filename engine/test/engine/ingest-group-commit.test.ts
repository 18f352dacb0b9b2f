import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../engine-harness.ts';

describe('single-event group commit', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual', workers: false }); });
  afterAll(async () => h?.close());

  it('concurrent single events share transactions', async () => {
    const res = await Promise.all(Array.from({ length: 40 }, (_, i) => h.call('POST', '/v1/events', { type: 'gc.shared', contact: { email: `shared${i}@example.com` } })));
    expect(res.map((r) => r.status)).toEqual(res.map(() => 202));
    const rows = await h.t.db.raw(`SELECT count(*)::int AS n, count(DISTINCT xmin::text)::int AS xacts FROM events WHERE workspace_id = ? AND type = 'gc.shared'`, [h.workspaceId]);
    expect(rows.rows[0].n).toBe(40);
    expect(rows.rows[0].xacts).toBeLessThan(40);
  });

  it('one bad request in a group fails alone; the others are accepted', async () => {
    expect((await h.call('POST', '/v1/contacts', { external_id: 'owner-of-mail', email: 'taken@example.com' })).status).toBe(201);
    const good = Array.from({ length: 40 }, (_, i) => h.call('POST', '/v1/events', { type: 'gc.ping', contact: { email: `gc${i}@example.com` } }));
    // Identity conflict: this email belongs to a contact with another external_id → 409 for this request only.
    const bad = h.call('POST', '/v1/events', { type: 'gc.ping', contact: { external_id: 'someone-else', email: 'taken@example.com' } });
    const [badRes, ...goodRes] = await Promise.all([bad, ...good]);
    expect(badRes!.status).toBe(409);
    expect(badRes!.body.errors[0].path).toBe('/contact/email');
    expect(goodRes.map((r) => r.status)).toEqual(goodRes.map(() => 202));
    expect(new Set(goodRes.map((r) => r.body.id)).size).toBe(40);
    const rows = await h.t.db.raw(`SELECT count(*)::int AS n FROM events WHERE workspace_id = ? AND type = 'gc.ping'`, [h.workspaceId]);
    expect(rows.rows[0].n).toBe(40);
  });
});
