import { definePlugin } from '@cairn/plugin-sdk';
import { sendEmail } from './actions/send-email.ts';

export default definePlugin({
  id: 'sendgrid',
  name: 'SendGrid',
  version: '1.0.0',
  description: 'Sends email through the SendGrid v3 Mail Send API',
  allowedHosts: ['api.sendgrid.com'],
  auth: {
    type: 'object',
    properties: {
      api_key: { type: 'string', title: 'API key', pattern: '^SG\\.' },
      from_email: { type: 'string', title: 'Default from address' },
      api_base_url: { type: 'string', title: 'API base URL (testing only)', pattern: '^https?://' },
    },
    required: ['api_key'],
  },
  actions: [sendEmail],
});
