import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/** A local stand-in for hooks.slack.com that checks requests the way Slack documents incoming webhooks. */
const received: { path: string; body: Record<string, unknown> }[] = [];
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = await startTestServer((req, res, raw) => {
    if (req.url === '/services/T000/B000/ratelimited') return res.writeHead(429, { 'retry-after': '30' }).end('rate_limited');
    if (req.url === '/services/T000/B000/archived') return res.writeHead(410).end('channel_is_archived');
    if (req.method !== 'POST' || !req.url?.startsWith('/services/') || req.headers['content-type'] !== 'application/json') return res.writeHead(400).end('invalid_payload');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return res.writeHead(400).end('invalid_payload');
    }
    // Slack requires text or blocks; every block needs a known type.
    const blocks = body.blocks as { type: string }[] | undefined;
    if (typeof body.text !== 'string' && !blocks) return res.writeHead(400).end('no_text');
    if (blocks?.some((b) => !['header', 'section', 'actions', 'divider', 'context'].includes(b.type))) return res.writeHead(400).end('invalid_blocks');
    received.push({ path: req.url, body });
    res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
  });
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { webhook_url: `${server.url}/services/T000/B000/XXXX` },
  });
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('slack post_message', () => {
  it('posts text plus Block Kit header, fields and button to the webhook', async () => {
    const out = await plugin.run('post_message', {
      text: 'New enterprise lead *Ana* (ana@example.com)',
      header: 'New lead',
      fields: [{ label: 'Employees', value: '250' }, { label: 'Country', value: 'US' }],
      button: { text: 'Open in CRM', url: 'https://crm.example.com/c/1' },
    });
    expect(out).toEqual({ ok: true });
    expect(received.at(-1)).toEqual({
      path: '/services/T000/B000/XXXX',
      body: {
        text: 'New enterprise lead *Ana* (ana@example.com)',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'New lead', emoji: true } },
          { type: 'section', text: { type: 'mrkdwn', text: 'New enterprise lead *Ana* (ana@example.com)' } },
          { type: 'section', fields: [{ type: 'mrkdwn', text: '*Employees*\n250' }, { type: 'mrkdwn', text: '*Country*\nUS' }] },
          { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in CRM' }, url: 'https://crm.example.com/c/1' }] },
        ],
      },
    });
  });

  it('429 is a retryable error carrying Retry-After as retryAfterMs, a refused message is not; no credential is a clear error', async () => {
    await expect(plugin.run('post_message', { text: 'x' }, { secrets: { webhook_url: `${server.url}/services/T000/B000/ratelimited` } })).rejects.toMatchObject({ code: 'SLACK_RATE_LIMITED', retryable: true, retryAfterMs: 30_000 });
    await expect(plugin.run('post_message', { text: 'x' }, { secrets: { webhook_url: `${server.url}/services/T000/B000/archived` } })).rejects.toMatchObject({ code: 'SLACK_CHANNEL_IS_ARCHIVED', retryable: false });
    await expect(plugin.run('post_message', { text: 'x' }, { secrets: {} })).rejects.toMatchObject({ code: 'SLACK_NOT_CONFIGURED' });
  });

  it('only reaches hooks.slack.com outside tests', async () => {
    await expect(plugin.run('post_message', { text: 'x' }, { secrets: { webhook_url: 'https://evil.example.com/services/x' } })).rejects.toMatchObject({ code: 'FETCH_HOST_NOT_ALLOWED' });
    expect(plugin.manifest.allowedHosts).toEqual(['hooks.slack.com']);
  });
});
