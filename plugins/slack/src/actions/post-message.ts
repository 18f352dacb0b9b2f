import { defineAction, PluginError, retryAfterMs } from '@cairn/plugin-sdk';

/**
 * Posts to a Slack incoming webhook (https://api.slack.com/messaging/webhooks): a JSON body with `text`
 * (the notification fallback) and Block Kit `blocks`. Slack answers 200 `ok`, or an error code as plain
 * text (`invalid_payload`, `no_service`, `channel_is_archived`...) and 429 when rate limited.
 */
export const postMessage = defineAction({
  key: 'post_message',
  title: 'Post a message',
  description: 'Posts a Block Kit message to the Slack channel of the incoming webhook',
  props: {
    type: 'object',
    properties: {
      text: { type: 'string', title: 'Text', description: 'Message text (Slack mrkdwn); also the notification fallback', minLength: 1, maxLength: 3000 },
      header: { type: 'string', title: 'Header', maxLength: 150 },
      fields: {
        type: 'array',
        title: 'Fields',
        maxItems: 10,
        items: { type: 'object', properties: { label: { type: 'string', minLength: 1 }, value: { type: 'string' } }, required: ['label', 'value'] },
      },
      button: { type: 'object', title: 'Button', properties: { text: { type: 'string', minLength: 1, maxLength: 75 }, url: { type: 'string', minLength: 1 } }, required: ['text', 'url'] },
    },
    required: ['text'],
    additionalProperties: false,
  },
  output: { type: 'object', properties: { ok: { type: 'boolean' } } },
  run: async (ctx, props) => {
    const url = ctx.secrets.webhook_url;
    if (!url) throw new PluginError('SLACK_NOT_CONFIGURED', 'set the webhook_url credential (PUT /v1/plugins/slack/credentials)');
    const blocks: unknown[] = [];
    if (props.header) blocks.push({ type: 'header', text: { type: 'plain_text', text: props.header, emoji: true } });
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: props.text } });
    if (props.fields?.length) blocks.push({ type: 'section', fields: props.fields.map((f) => ({ type: 'mrkdwn', text: `*${f.label}*\n${f.value}` })) });
    if (props.button) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: props.button.text }, url: props.button.url }] });
    const res = await ctx.http.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: props.text, blocks }) });
    const body = await res.text();
    if (res.status === 429) throw new PluginError('SLACK_RATE_LIMITED', `Slack rate limited the webhook (retry after ${res.headers['retry-after'] ?? '?'} s)`, { retryable: true, retryAfterMs: retryAfterMs(res.headers) });
    if (res.status >= 500) throw new PluginError('SLACK_UNAVAILABLE', `Slack answered HTTP ${res.status}`, { retryable: true });
    if (res.status !== 200) throw new PluginError(`SLACK_${body.toUpperCase().replace(/[^A-Z0-9]+/g, '_').slice(0, 40) || 'ERROR'}`, `Slack refused the message: HTTP ${res.status} ${body.slice(0, 200)}`);
    ctx.log.info('slack message posted', { blocks: blocks.length });
    return { ok: true };
  },
});
