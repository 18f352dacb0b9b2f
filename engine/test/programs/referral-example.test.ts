import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES_DIR } from '../../src/flow/examples.ts';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { startReceiver } from '../receiver.ts';

const load = (file: string) => JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'referral', file), 'utf8'));

/** examples/referral as its README tells it: the program does the bookkeeping, the flow pays out granted rewards. */
describe('referral example', () => {
  let h: Harness;
  let billing: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    h = await startHarness();
    billing = await startReceiver();
    expect((await h.call('POST', '/v1/referral-programs', load('program.json'))).status).toBe(201);
    const flow = load('flow.json');
    flow.nodes.find((n: { id: string }) => n.id === 'credit').config.url = `${billing.url}/referral-credits`;
    await createAndPublish(h, flow);
  });
  afterAll(async () => {
    await h?.close();
    await billing?.close();
  });

  it('sample events: Tom\'s first order rewards both sides after the review period, and billing credits each once', async () => {
    const samples = load('sample-events.json').events as { type: string; contact: { email: string }; properties: Record<string, unknown> }[];
    const ana = (await h.call('POST', '/v1/events', samples[0])).body.contact_id as string;
    const code = (await h.call('GET', `/v1/contacts/${ana}/referral-code?program=friends`)).body.code as string;
    expect(samples[1]!.properties.referral_code).toBe('REPLACE-WITH-ANA-CODE');
    const tom = (await h.call('POST', '/v1/events', { ...samples[1], properties: { referral_code: code } })).body.contact_id as string;
    await h.call('POST', '/v1/events', samples[2]);
    await h.engine.drain();
    expect((await h.call('GET', `/v1/rewards?contact_id=${tom}`)).body.items.map((r: { status: string }) => r.status)).toEqual(['pending']);
    expect(billing.received).toHaveLength(0);

    await h.call('POST', '/v1/_test/clock/advance', { by: 'P14D' });
    await h.engine.drain();
    for (const id of [ana, tom]) expect((await h.call('GET', `/v1/rewards?contact_id=${id}`)).body.items.map((r: { status: string }) => r.status)).toEqual(['granted']);
    const credits = billing.received.map((r) => JSON.parse(r.body)).sort((a, b) => a.role.localeCompare(b.role));
    expect(credits).toEqual([
      expect.objectContaining({ customer: 'tom@parcel.example', role: 'referee', amount: '10', currency: 'USD' }),
      expect.objectContaining({ customer: 'ana@parcel.example', role: 'referrer', amount: '10', currency: 'USD' }),
    ]);
    const runs = (await h.call('GET', `/v1/runs?contact_id=${ana}`)).body.items;
    expect(runs.map((r: { status: string }) => r.status)).toEqual(['converted']);
  });
});
