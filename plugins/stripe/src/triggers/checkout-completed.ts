import { defineTrigger, hmacSha256Hex, PluginError, timingSafeEqual, type TriggerEvent } from '@cairn/plugin-sdk';

/**
 * Verifies Stripe webhook signatures (https://docs.stripe.com/webhooks#verify-manually): the
 * `Stripe-Signature` header carries `t=<unix seconds>` and one or more `v1=<hex>`; the expected v1 is
 * HMAC-SHA256 of `"<t>.<raw body>"` with the endpoint's signing secret. As Stripe's own libraries do, only
 * the age is checked: a timestamp older than the tolerance is refused against replay, a future one (clock
 * skew) is fine, and a tolerance of 0 turns the check off.
 *
 * A purchase is complete when the session is paid: `checkout.session.completed` with `payment_status` `paid`
 * (or `no_payment_required`), or later `checkout.session.async_payment_succeeded` for delayed methods (bank
 * debits) whose completed session was still `unpaid`. Each becomes one `purchase.completed`; other events,
 * and unpaid completed sessions, produce none.
 */

const DEFAULT_TOLERANCE_S = 300;

// https://docs.stripe.com/currencies#zero-decimal and #three-decimal: amounts are in the currency's minor unit.
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/** A Stripe amount (integer, minor units) in major units of its currency: JPY 4900 → 4900, KWD 4900 → 4.9, USD 4900 → 49. */
export function majorUnits(amount: number, currency: string): number {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
  return Number((amount / 10 ** digits).toFixed(digits));
}

const PAID = new Set(['paid', 'no_payment_required']);

interface CheckoutSession {
  id: string;
  customer?: string | null;
  customer_email?: string | null;
  customer_details?: { email?: string | null; name?: string | null } | null;
  client_reference_id?: string | null;
  amount_total?: number | null;
  currency?: string | null;
  payment_status?: string;
  metadata?: Record<string, string>;
}

function parseHeader(header: string): { t: number; v1: string[] } {
  let t = NaN;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2).map((s) => s.trim());
    if (k === 't') t = Number(v);
    else if (k === 'v1' && v) v1.push(v);
  }
  return { t, v1 };
}

export const checkoutCompleted = defineTrigger({
  key: 'checkout_completed',
  title: 'Checkout completed',
  description: 'A Stripe Checkout session was paid: emits purchase.completed for the customer',
  verify: (request, secrets) => {
    const secret = secrets.webhook_secret;
    if (!secret) throw new PluginError('STRIPE_NOT_CONFIGURED', 'set the webhook_secret credential (whsec_…)');
    const header = request.headers['stripe-signature'];
    if (!header) throw new PluginError('STRIPE_NO_SIGNATURE', 'the request has no Stripe-Signature header');
    const { t, v1 } = parseHeader(header);
    if (!Number.isFinite(t) || v1.length === 0) throw new PluginError('STRIPE_BAD_SIGNATURE_HEADER', 'Stripe-Signature must contain t=<timestamp> and v1=<signature>');
    const expected = hmacSha256Hex(secret, `${t}.${request.body}`);
    if (!v1.some((sig) => timingSafeEqual(sig, expected))) throw new PluginError('STRIPE_SIGNATURE_MISMATCH', 'no v1 signature matches the payload; check the webhook signing secret');
    const tolerance = Number(secrets.tolerance_seconds ?? DEFAULT_TOLERANCE_S);
    if (tolerance > 0 && Date.now() / 1000 - t > tolerance) throw new PluginError('STRIPE_TIMESTAMP_OUT_OF_TOLERANCE', `the signature timestamp is more than ${tolerance} s old (replayed, or a clock far behind)`);

    const event = JSON.parse(request.body) as { id: string; type: string; created: number; livemode?: boolean; data: { object: CheckoutSession } };
    const s = event.data.object;
    const paid = (event.type === 'checkout.session.completed' && PAID.has(s.payment_status ?? '')) || event.type === 'checkout.session.async_payment_succeeded';
    if (!paid) return [];
    const email = s.customer_details?.email ?? s.customer_email ?? undefined;
    if (!email && !s.client_reference_id) throw new PluginError('STRIPE_NO_CUSTOMER', `checkout session ${s.id} has no customer email or client_reference_id`);
    const out: TriggerEvent = {
      type: 'purchase.completed',
      contact: {
        ...(s.client_reference_id ? { external_id: s.client_reference_id } : {}),
        ...(email ? { email } : {}),
        ...(s.customer_details?.name ? { properties: { name: s.customer_details.name } } : {}),
      },
      properties: {
        amount: majorUnits(s.amount_total ?? 0, (s.currency ?? '').toUpperCase()),
        currency: (s.currency ?? '').toUpperCase(),
        payment_status: event.type === 'checkout.session.async_payment_succeeded' ? 'paid' : (s.payment_status ?? null),
        stripe_session_id: s.id,
        stripe_customer_id: s.customer ?? null,
        livemode: event.livemode ?? false,
        ...(s.metadata ? { metadata: s.metadata } : {}),
      },
      occurred_at: new Date(event.created * 1000).toISOString(),
      // Stripe retries deliveries; the event id makes ingestion idempotent (a session has one paid event:
      // completed-and-paid, or async_payment_succeeded after completed-unpaid).
      idempotency_key: `stripe:${event.id}`,
    };
    return [out];
  },
});
