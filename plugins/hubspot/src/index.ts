import { definePlugin } from '@cairn/plugin-sdk';
import { upsertContact } from './actions/upsert-contact.ts';
import { hubspotAuth } from './auth.ts';
import { newContact } from './triggers/new-contact.ts';

export default definePlugin({
  id: 'hubspot',
  name: 'HubSpot',
  // 2.0.0: OAuth2 (a HubSpot public app) instead of a private app token, and the new_contact polling trigger.
  version: '2.0.0',
  description: 'Creates and updates contacts in HubSpot CRM, and starts flows for new HubSpot contacts',
  allowedHosts: ['api.hubapi.com'],
  auth: hubspotAuth,
  actions: [upsertContact],
  triggers: [newContact],
});
