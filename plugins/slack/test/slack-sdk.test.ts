import { fileURLToPath } from 'node:url';
import { IncomingWebhook } from '@slack/webhook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

/**
 * The plugin's request against the one Slack's own Node library for incoming webhooks (`@slack/webhook`, a dev
 * dependency of this test only; `@slack/web-api` is for the Web API's bearer-token methods, which the plugin does not
 * call) sends for the same message, both captured by one local server standing in for hooks.slack.com: method, path,
 * query, content type, parsed body and Authorization header (none: the webhook URL is the credential) must match.
 */
const HOOK_PATH = '/services/T000/B000/XXXXXXXXXXXXXXXX';
let server: TestServer;
let hookUrl: string;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = await startTestServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('ok'));
  hookUrl = `${server.url}${HOOK_PATH}`;
  plugin = await loadPlugin({ entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)), testHosts: [server.host], secrets: { webhook_url: hookUrl } });
});
afterAll(async () => {
  await plugin.dispose();
  await server.close();
});

describe('slack plugin vs @slack/webhook', () => {
  it('post_message sends what IncomingWebhook.send sends for the same Block Kit message', async () => {
    const props = { text: 'New lead: *Ana*', header: 'Lead routed', fields: [{ label: 'Owner', value: 'sam@example.com' }], button: { text: 'Open', url: 'https://cairn.example/contacts/1' } };
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: props.header, emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: props.text } },
      { type: 'section', fields: [{ type: 'mrkdwn', text: '*Owner*\nsam@example.com' }] },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open' }, url: props.button.url }] },
    ];
    await new IncomingWebhook(hookUrl).send({ text: props.text, blocks });
    expect(await plugin.run('post_message', props)).toEqual({ ok: true });
    expect(server.requests).toHaveLength(2);
    const [official, ours] = server.requests;
    // @slack/webhook spreads its own options into the payload, so its body also carries `"timeout": 0` (the axios
    // timeout it was constructed with); Slack ignores that field. Everything else must be identical.
    const { timeout, ...officialBody } = official!.body as Record<string, unknown>;
    expect(timeout).toBe(0);
    expect(ours).toEqual({ ...official, body: officialBody });
    expect(ours).toMatchObject({ method: 'POST', path: HOOK_PATH, contentType: 'application/json', authorization: undefined });
  });
});
