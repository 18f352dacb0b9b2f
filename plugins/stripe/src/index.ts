import { definePlugin } from '@cairn/plugin-sdk';
import { checkoutCompleted } from './triggers/checkout-completed.ts';

export default definePlugin({
  id: 'stripe',
  name: 'Stripe',
  version: '1.0.0',
  description: 'Turns verified Stripe webhooks into Cairn events (checkout.session.completed → purchase.completed)',
  allowedHosts: [],
  auth: {
    type: 'object',
    properties: {
      webhook_secret: { type: 'string', title: 'Webhook signing secret', pattern: '^whsec_' },
      tolerance_seconds: { type: 'string', title: 'Timestamp tolerance in seconds', pattern: '^[0-9]{1,5}$' },
    },
    required: ['webhook_secret'],
  },
  actions: [],
  triggers: [checkoutCompleted],
});
