import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, type LoadedPlugin } from '@cairn/plugin-sdk/testing';

/**
 * The plugin against Stripe's own Node library (a dev dependency of this test only): headers signed by
 * `stripe.webhooks.generateTestHeaderString`, and for each case the plugin's verdict compared with
 * `stripe.webhooks.signature.verifyHeader`'s (same secret, same tolerance). Stripe checks the age only, and a
 * tolerance of 0 turns the age check off (as in stripe-python; stripe-node's `constructEvent` alone maps a 0
 * to its 300 s default, hence the lower-level call); the plugin must agree on every case.
 */
const SECRET = 'whsec_sdk_compare_1';
const stripe = new Stripe('sk_test_unused');
let plugin: LoadedPlugin;

const payload = JSON.stringify({
  id: 'evt_sdk_1', object: 'event', type: 'checkout.session.completed', created: 1763800000, livemode: false,
  data: { object: { id: 'cs_sdk_1', object: 'checkout.session', amount_total: 4900, currency: 'jpy', customer_details: { email: 'kenji@example.com' }, payment_status: 'paid' } },
});

beforeAll(async () => {
  plugin = await loadPlugin({ entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)) });
});
afterAll(async () => {
  await plugin.dispose();
});

describe('stripe plugin vs the stripe package', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: { name: string; timestamp: () => number; tolerance: number; secret?: string; body?: string }[] = [
    { name: 'fresh', timestamp: now, tolerance: 300 },
    { name: '301 s old', timestamp: () => now() - 301, tolerance: 300 },
    { name: '1 h in the future', timestamp: () => now() + 3600, tolerance: 300 },
    { name: '30 days old, tolerance 0 (off)', timestamp: () => now() - 30 * 86400, tolerance: 0 },
    { name: '500 s old, tolerance 600', timestamp: () => now() - 500, tolerance: 600 },
    { name: 'other secret', timestamp: now, tolerance: 300, secret: 'whsec_other' },
    { name: 'tampered body', timestamp: now, tolerance: 300, body: payload.replace('4900', '1') },
  ];
  for (const c of cases) {
    it(`same verdict as stripe.webhooks.signature.verifyHeader: ${c.name}`, async () => {
      const header = stripe.webhooks.generateTestHeaderString({ payload, secret: c.secret ?? SECRET, timestamp: c.timestamp() });
      const body = c.body ?? payload;
      let stripeAccepts = true;
      try {
        stripe.webhooks.signature.verifyHeader(body, header, SECRET, c.tolerance);
      } catch {
        stripeAccepts = false;
      }
      const ours = await plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': header } }, { webhook_secret: SECRET, tolerance_seconds: String(c.tolerance) })
        .then(() => true, () => false);
      expect(ours).toBe(stripeAccepts);
    });
  }

  it('a JPY session signed by the stripe package yields the zero-decimal amount', async () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const [event] = await plugin.verify('checkout_completed', { body: payload, headers: { 'stripe-signature': header } }, { webhook_secret: SECRET });
    expect(event!.properties).toMatchObject({ amount: 4900, currency: 'JPY' });
  });
});
