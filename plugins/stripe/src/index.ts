import { definePlugin } from '@cairn/plugin-sdk';
import { checkoutCompleted } from './triggers/checkout-completed.ts';

export default definePlugin({
  id: 'stripe',
  name: 'Stripe',
  version: '1.1.0',
  description: 'Turns verified Stripe webhooks into Cairn events (a paid checkout session → purchase.completed)',
  allowedHosts: [],
  auth: {
    type: 'object',
    properties: {
      webhook_secret: { type: 'string', title: 'Webhook signing secret', pattern: '^whsec_' },
      tolerance_seconds: { type: 'string', title: 'Maximum signature age in seconds (default 300, 0 = no check)', pattern: '^[0-9]{1,5}$' },
    },
    required: ['webhook_secret'],
  },
  actions: [],
  triggers: [checkoutCompleted],
});
