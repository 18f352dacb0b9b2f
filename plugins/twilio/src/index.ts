import { definePlugin } from '@cairn/plugin-sdk';
import { sendSms } from './actions/send-sms.ts';

export default definePlugin({
  id: 'twilio',
  name: 'Twilio',
  version: '1.1.0',
  description: 'Sends SMS through the Twilio Messages API',
  // api.twilio.com, and the regional hosts api.<edge>.<region>.twilio.com (credentials region and edge).
  allowedHosts: ['api.twilio.com', '*.twilio.com'],
  auth: {
    type: 'object',
    properties: {
      account_sid: { type: 'string', title: 'Account SID', pattern: '^AC[0-9a-fA-F]{32}$' },
      auth_token: { type: 'string', title: 'Auth token', minLength: 16 },
      from_number: { type: 'string', title: 'Default sender number (E.164)' },
      messaging_service_sid: { type: 'string', title: 'Messaging Service SID', pattern: '^MG[0-9a-fA-F]{32}$' },
      region: { type: 'string', title: 'Region (e.g. ie1, au1; empty = US)', pattern: '^[a-z]{2}[0-9]$' },
      edge: { type: 'string', title: 'Edge location (e.g. dublin, sydney)', pattern: '^[a-z]+$' },
      api_base_url: { type: 'string', title: 'API base URL (testing only)', pattern: '^https?://' },
    },
    required: ['account_sid', 'auth_token'],
  },
  actions: [sendSms],
});
