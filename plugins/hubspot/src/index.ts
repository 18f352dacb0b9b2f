import { definePlugin } from '@cairn/plugin-sdk';
import { upsertContact } from './actions/upsert-contact.ts';

export default definePlugin({
  id: 'hubspot',
  name: 'HubSpot',
  version: '1.1.0',
  description: 'Creates and updates contacts in HubSpot CRM',
  allowedHosts: ['api.hubapi.com'],
  auth: {
    type: 'object',
    properties: {
      access_token: { type: 'string', title: 'Private app access token', minLength: 10 },
      api_base_url: { type: 'string', title: 'API base URL (testing only)', pattern: '^https?://' },
    },
    required: ['access_token'],
  },
  actions: [upsertContact],
});
