import { definePlugin } from '@cairn/plugin-sdk';
import { sendEmail } from './actions/send-email.ts';

export default definePlugin({
  id: 'sendgrid',
  name: 'SendGrid',
  version: '1.1.0',
  description: 'Sends email through the SendGrid v3 Mail Send API',
  // The global host, and the EU one for subusers with EU data residency (credential region "eu").
  allowedHosts: ['api.sendgrid.com', 'api.eu.sendgrid.com'],
  auth: {
    type: 'object',
    properties: {
      api_key: { type: 'string', title: 'API key', pattern: '^SG\\.' },
      from_email: { type: 'string', title: 'Default from address' },
      region: { type: 'string', title: 'Data residency: eu = api.eu.sendgrid.com, global (or unset) = api.sendgrid.com', enum: ['global', 'eu'] },
      api_base_url: { type: 'string', title: 'API base URL (testing only)', pattern: '^https?://' },
    },
    required: ['api_key'],
  },
  actions: [sendEmail],
});
