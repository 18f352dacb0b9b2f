import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, json, type Harness } from './harness.ts';

// Values that have broken JSON APIs before: wrong types, extremes, odd strings, deep and wide shapes.
const WEIRD: unknown[] = [
  null, true, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, '', ' ', 'x'.repeat(70_000), '\u202e\u0301😀', 'a\u0000b',
  '1970-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '../../etc/passwd', "'; DROP TABLE contacts; --", '{"a":1}', [], [null], [[[[]]]],
  {}, { __proto__x: 1 }, { '': 1 }, { 'a/b~c': { '': null } }, Array.from({ length: 2000 }, (_, i) => i),
  Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])),
];

function* variants(base: Record<string, unknown>, fields: string[][]): Generator<unknown> {
  for (const path of fields) {
    for (const value of WEIRD) {
      const copy = structuredClone(base);
      let target = copy as Record<string, unknown>;
      for (const key of path.slice(0, -1)) {
        if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
        target = target[key] as Record<string, unknown>;
      }
      target[path[path.length - 1]!] = value;
      yield copy;
    }
  }
  for (const value of WEIRD) yield value;
}

describe('fuzzed request bodies', () => {
  let h: Harness;
  let contactId: string;
  beforeAll(async () => {
    h = await createHarness();
    contactId = json(await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(h.ws.a.keys.admin), payload: { email: 'fuzz@x.co' } })).id;
  });
  afterAll(async () => { await h.close(); });

  const event = { type: 'fuzz', contact: { email: 'f@x.co', external_id: 'f1', properties: { a: 1 } }, properties: { b: 2 }, occurred_at: '2026-01-01T00:00:00Z', idempotency_key: 'k' };
  const eventFields = [['type'], ['contact'], ['contact', 'email'], ['contact', 'external_id'], ['contact', 'properties'], ['contact', 'properties', 'deep'], ['properties'], ['properties', 'x'], ['occurred_at'], ['idempotency_key']];

  it('never answer 5xx: events, batches, contact upserts and patches with weird values everywhere', async () => {
    const targets: { method: 'POST' | 'PATCH'; url: string; bodies: () => Generator<unknown> }[] = [
      { method: 'POST', url: '/v1/events', bodies: () => variants(event, eventFields) },
      { method: 'POST', url: '/v1/events/batch', bodies: () => variants({ events: [event, event] }, [['events'], ['events', '0'], ['events', '1', 'contact'], ['events', '1', 'properties']]) },
      { method: 'POST', url: '/v1/contacts', bodies: () => variants({ email: 'c@x.co', external_id: 'c1', properties: { a: 1 }, timezone: 'UTC' }, [['email'], ['external_id'], ['properties'], ['properties', 'n'], ['timezone']]) },
      { method: 'PATCH', url: `/v1/contacts/${contactId}`, bodies: () => variants({ properties: { a: 1 } }, [['email'], ['external_id'], ['properties'], ['properties', 'n'], ['timezone'], ['tags'], ['lifecycle_stage']]) },
    ];
    let sent = 0;
    const statuses = new Map<number, number>();
    for (const t of targets) {
      for (const body of t.bodies()) {
        const res = await h.app.inject({ method: t.method, url: t.url, headers: { ...bearer(h.ws.a.keys.admin), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${t.method} ${t.url} ${JSON.stringify(body).slice(0, 200)} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.headers['content-type']).toContain('application/problem+json');
      }
    }
    expect(sent).toBeGreaterThan(600);
    expect(statuses.get(400)).toBeGreaterThan(100);
  });
});
