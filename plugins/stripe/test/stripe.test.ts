import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, type LoadedPlugin } from '@cairn/plugin-sdk/testing';

/**
 * The trigger runs in the sandbox; the signatures are made here the way Stripe makes them (node:crypto
 * HMAC-SHA256 over `t.payload`), so the plugin's own HMAC is checked against an independent implementation.
 */
const SECRET = 'whsec_test_5f3c9a';
let plugin: LoadedPlugin;

const session = {
  id: 'evt_1QabCD',
  object: 'event',
  type: 'checkout.session.completed',
  created: 1763800000,
  livemode: false,
  data: {
    object: {
      id: 'cs_test_a1b2', object: 'checkout.session', amount_total: 4900, currency: 'usd', customer: 'cus_9s8t',
      customer_details: { email: 'ana@example.com', name: 'Ana Silva' }, client_reference_id: 'user_42', payment_status: 'paid',
      metadata: { plan: 'pro' },
    },
  },
};

function sign(body: string, t = Math.floor(Date.now() / 1000), secret = SECRET) {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')},v0=deadbeef`;
}

beforeAll(async () => {
  plugin = await loadPlugin({ entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)), secrets: { webhook_secret: SECRET } });
});
afterAll(async () => {
  await plugin.dispose();
});

describe('stripe checkout_completed trigger', () => {
  it('a correctly signed checkout.session.completed becomes purchase.completed', async () => {
    const body = JSON.stringify(session);
    const events = await plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body), 'content-type': 'application/json' } });
    expect(events).toEqual([
      {
        type: 'purchase.completed',
        contact: { external_id: 'user_42', email: 'ana@example.com', properties: { name: 'Ana Silva' } },
        properties: { amount: 49, currency: 'USD', payment_status: 'paid', stripe_session_id: 'cs_test_a1b2', stripe_customer_id: 'cus_9s8t', livemode: false, metadata: { plan: 'pro' } },
        occurred_at: new Date(1763800000 * 1000).toISOString(),
        idempotency_key: 'stripe:evt_1QabCD',
      },
    ]);
  });

  it('a signature over another body, with another secret, or without the header is refused', async () => {
    const body = JSON.stringify(session);
    const tampered = body.replace('4900', '1');
    await expect(plugin.verify('checkout_completed', { body: tampered, headers: { 'stripe-signature': sign(body) } })).rejects.toMatchObject({ code: 'STRIPE_SIGNATURE_MISMATCH' });
    await expect(plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body, undefined, 'whsec_other') } })).rejects.toMatchObject({ code: 'STRIPE_SIGNATURE_MISMATCH' });
    await expect(plugin.verify('checkout_completed', { body, headers: {} })).rejects.toMatchObject({ code: 'STRIPE_NO_SIGNATURE' });
    await expect(plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': 'v1=abc' } })).rejects.toMatchObject({ code: 'STRIPE_BAD_SIGNATURE_HEADER' });
  });

  it('a timestamp outside the tolerance is refused (replay); the tolerance is configurable', async () => {
    const body = JSON.stringify(session);
    const old = Math.floor(Date.now() / 1000) - 301;
    await expect(plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body, old) } })).rejects.toMatchObject({ code: 'STRIPE_TIMESTAMP_OUT_OF_TOLERANCE' });
    const events = await plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body, old) } }, { webhook_secret: SECRET, tolerance_seconds: '600' });
    expect(events).toHaveLength(1);
  });

  it('a future timestamp (clock skew) is accepted: only the age is checked; tolerance_seconds 0 turns the check off', async () => {
    const body = JSON.stringify(session);
    const future = Math.floor(Date.now() / 1000) + 3600;
    expect(await plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body, future) } })).toHaveLength(1);
    const ancient = Math.floor(Date.now() / 1000) - 30 * 86400;
    expect(await plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body, ancient) } }, { webhook_secret: SECRET, tolerance_seconds: '0' })).toHaveLength(1);
    // Off means off for the age only: the signature is still checked.
    await expect(plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body, ancient, 'whsec_other') } }, { webhook_secret: SECRET, tolerance_seconds: '0' }))
      .rejects.toMatchObject({ code: 'STRIPE_SIGNATURE_MISMATCH' });
  });

  it('amounts follow the currency\'s minor unit: JPY is zero-decimal, KWD has three decimals, EUR two', async () => {
    const amountOf = async (amount_total: number, currency: string) => {
      const body = JSON.stringify({ ...session, data: { object: { ...session.data.object, amount_total, currency } } });
      const [event] = await plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body) } });
      return [event!.properties!.amount, event!.properties!.currency];
    };
    expect(await amountOf(4900, 'jpy')).toEqual([4900, 'JPY']);
    expect(await amountOf(4900, 'kwd')).toEqual([4.9, 'KWD']);
    expect(await amountOf(12345, 'kwd')).toEqual([12.345, 'KWD']);
    expect(await amountOf(4999, 'eur')).toEqual([49.99, 'EUR']);
  });

  it('an unpaid completed session emits nothing until checkout.session.async_payment_succeeded, which emits one purchase', async () => {
    const unpaidSession = { ...session.data.object, id: 'cs_test_async', payment_status: 'unpaid' };
    const completed = JSON.stringify({ ...session, id: 'evt_completed', data: { object: unpaidSession } });
    expect(await plugin.verify('checkout_completed', { body: completed, headers: { 'stripe-signature': sign(completed) } })).toEqual([]);
    const failed = JSON.stringify({ ...session, id: 'evt_failed', type: 'checkout.session.async_payment_failed', data: { object: unpaidSession } });
    expect(await plugin.verify('checkout_completed', { body: failed, headers: { 'stripe-signature': sign(failed) } })).toEqual([]);
    const succeeded = JSON.stringify({ ...session, id: 'evt_succeeded', type: 'checkout.session.async_payment_succeeded', data: { object: { ...unpaidSession, payment_status: 'paid' } } });
    const events = await plugin.verify('checkout_completed', { body: succeeded, headers: { 'stripe-signature': sign(succeeded) } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'purchase.completed', properties: { amount: 49, payment_status: 'paid', stripe_session_id: 'cs_test_async' }, idempotency_key: 'stripe:evt_succeeded' });
  });

  it('other event types produce no event', async () => {
    const body = JSON.stringify({ ...session, type: 'invoice.paid' });
    expect(await plugin.verify('checkout_completed', { body, headers: { 'stripe-signature': sign(body) } })).toEqual([]);
  });
});
