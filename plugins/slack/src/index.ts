import { definePlugin } from '@cairn/plugin-sdk';
import { postMessage } from './actions/post-message.ts';

export default definePlugin({
  id: 'slack',
  name: 'Slack',
  version: '1.0.0',
  description: 'Posts Block Kit messages to a Slack channel through an incoming webhook',
  allowedHosts: ['hooks.slack.com'],
  auth: {
    type: 'object',
    properties: { webhook_url: { type: 'string', title: 'Incoming webhook URL', pattern: '^https?://', description: 'https://hooks.slack.com/services/T…/B…/…' } },
    required: ['webhook_url'],
  },
  actions: [postMessage],
});
