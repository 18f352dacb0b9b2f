import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { bearer, createHarness, json, type Harness } from './http/harness.ts';

/**
 * Plugin triggers over HTTP: the first-party Stripe plugin verifies a signed webhook in the sandbox with the
 * workspace's secret, and the events it returns are ingested (idempotently, by Stripe event id).
 */
const SECRET = 'whsec_e2e_6b1d';
let h: Harness;
let url: string;

const checkout = (id: string, email: string) => JSON.stringify({
  id, object: 'event', type: 'checkout.session.completed', created: Math.floor(Date.now() / 1000),
  data: { object: { id: `cs_${id}`, amount_total: 12900, currency: 'eur', customer: 'cus_1', customer_details: { email, name: 'Bo' }, payment_status: 'paid' } },
});
const sign = (body: string, secret = SECRET, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
const post = (body: string, signature: string, to = url) =>
  h.app.inject({ method: 'POST', url: to, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature }, payload: body });

beforeAll(async () => {
  h = await createHarness({ env: { CAIRN_SECRET_KEY: 'd'.repeat(64) } });
  const stripe = await buildPlugin(fileURLToPath(new URL('../../plugins/stripe/src/index.ts', import.meta.url)));
  const up = await h.app.inject({ method: 'POST', url: '/v1/plugins', headers: bearer(h.ws.a.keys.admin), payload: { manifest: stripe.manifest, bundle: stripe.bundle } });
  expect(up.statusCode).toBe(201);
  const creds = await h.app.inject({ method: 'PUT', url: '/v1/plugins/stripe/credentials', headers: bearer(h.ws.a.keys.admin), payload: { webhook_secret: SECRET } });
  expect(creds.statusCode).toBe(200);
  url = `/v1/hooks/${h.ws.a.id}/plugins/stripe/checkout_completed`;
});
afterAll(async () => {
  await h.close();
});

describe('plugin webhook triggers', () => {
  it('a signed checkout.session.completed is verified in the sandbox and ingested as purchase.completed', async () => {
    const body = checkout('evt_A1', 'bo@example.com');
    const res = await post(body, sign(body));
    expect(res.statusCode).toBe(202);
    const [item] = json(res).items;
    expect(item).toMatchObject({ duplicate: false });
    const event = await h.t.db('events').where({ workspace_id: h.ws.a.id, id: item.id }).first();
    expect(event).toMatchObject({ type: 'purchase.completed', source: 'plugin:stripe', idempotency_key: 'stripe:evt_A1' });
    expect(event.properties).toMatchObject({ amount: 129, currency: 'EUR', stripe_session_id: 'cs_evt_A1' });
    const contact = await h.t.db('contacts').where({ workspace_id: h.ws.a.id, id: item.contact_id }).first();
    expect(contact.email).toBe('bo@example.com');
    // Stripe redelivers: the same event id is a duplicate, nothing is ingested twice.
    const again = await post(body, sign(body));
    expect(json(again).items[0]).toMatchObject({ id: item.id, duplicate: true });
  });

  it('a bad signature is refused with the plugin code; nothing is ingested', async () => {
    const before = (await h.t.db('events').where({ workspace_id: h.ws.a.id }).count<{ count: number }[]>('* as count'))[0]!.count;
    const body = checkout('evt_B2', 'eve@example.com');
    const res = await post(body, sign(body, 'whsec_wrong'));
    expect(res.statusCode).toBe(400);
    expect(json(res).detail).toMatch(/\[STRIPE_SIGNATURE_MISMATCH\]/);
    expect(res.body).not.toContain(SECRET);
    const stale = await post(body, sign(body, SECRET, Math.floor(Date.now() / 1000) - 3600));
    expect(json(stale).detail).toMatch(/STRIPE_TIMESTAMP_OUT_OF_TOLERANCE/);
    const after = (await h.t.db('events').where({ workspace_id: h.ws.a.id }).count<{ count: number }[]>('* as count'))[0]!.count;
    expect(after).toBe(before);
  });

  it('unknown workspaces, plugins not installed there, unknown triggers and disabled plugins are 404', async () => {
    const body = checkout('evt_C3', 'x@example.com');
    for (const to of [
      `/v1/hooks/${h.ws.b.id}/plugins/stripe/checkout_completed`,
      '/v1/hooks/not-a-uuid/plugins/stripe/checkout_completed',
      `/v1/hooks/${h.ws.a.id}/plugins/stripe/nope`,
      `/v1/hooks/${h.ws.a.id}/plugins/slack/checkout_completed`,
    ]) expect((await post(body, sign(body), to)).statusCode, to).toBe(404);
    await h.app.inject({ method: 'POST', url: '/v1/plugins/stripe/disable', headers: bearer(h.ws.a.keys.admin) });
    expect((await post(body, sign(body))).statusCode).toBe(404);
    await h.app.inject({ method: 'POST', url: '/v1/plugins/stripe/enable', headers: bearer(h.ws.a.keys.admin) });
    expect((await post(body, sign(body))).statusCode).toBe(202);
  });
});
