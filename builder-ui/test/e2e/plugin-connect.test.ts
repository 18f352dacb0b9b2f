import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { startFakeProvider, type FakeProvider } from '../../../engine/test/oauth-provider.ts';
import { describeE2e, endE2eTest, freePort, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

/**
 * The Plugins page connects an OAuth2 plugin in a real browser: "Connect with <vendor>" sends the browser to a local
 * fake provider, which sends it back to the engine's callback; the engine stores the tokens and returns the browser
 * to the Plugins page, now "connected"; "Test connection" reaches the vendor's account with the token.
 */
describeE2e('builder UI end to end: connect an OAuth2 plugin', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let provider: FakeProvider;

  beforeAll(async () => {
    provider = await startFakeProvider({ account: 'Acme Corp (portal 42)' });
    // The fake provider listens on 127.0.0.1: let the engine's token requests and the plugin reach it.
    // The engine must know its public URL (the OAuth redirect URI) before it listens.
    const port = await freePort();
    ({ server, browser } = await startE2e({ port, env: { CAIRN_PUBLIC_URL: `http://127.0.0.1:${port}`, CAIRN_SANDBOX_ALLOW_PRIVATE_HOSTS: 'true' } }));
    const built = await buildPlugin(fileURLToPath(new URL('../../../engine/test/fixtures/oauth-vendor.ts', import.meta.url)));
    const local = (s: string) => s.split('vendor.invalid').join(new URL(provider.url).host);
    expect((await server.h.call('POST', '/v1/plugins', { manifest: JSON.parse(local(JSON.stringify(built.manifest))), bundle: local(built.bundle) })).status).toBe(201);
    expect((await server.h.call('PUT', '/v1/plugins/oauth_vendor/credentials', { client_id: provider.clientId, client_secret: provider.clientSecret })).status).toBe(200);
    page = await newPage(browser);
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page));

  afterAll(async () => {
    await stopE2e(browser, server);
    await provider?.close();
  });

  it('Connect with <vendor> goes to the provider and back, connected; Test connection reaches the account', async () => {
    await signIn(page, server, server.users.admin);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plugins', exact: true }).click();
    const card = page.getByRole('region', { name: 'OAuth vendor' });
    await card.getByText('not connected').waitFor();
    await card.getByRole('button', { name: 'Connect with OAuth vendor' }).click();
    await page.waitForURL(/\/plugins\?connected=oauth_vendor$/, { timeout: 30_000 });
    await card.getByRole('status').filter({ hasText: 'Connected to OAuth vendor.' }).waitFor();
    await card.getByText('connected', { exact: true }).waitFor();
    expect(provider.log.filter((r) => r.path === '/token').map((r) => r.fields.grant_type)).toEqual(['authorization_code']);
    await card.getByRole('button', { name: 'Test connection' }).click();
    await card.getByRole('status').filter({ hasText: 'Connection works: Acme Corp (portal 42).' }).waitFor();
    await screenshot(page, 'plugin-oauth-connected');
    // No token in what the page holds.
    const html = await page.content();
    for (const token of provider.issued) expect(html).not.toContain(token);
  });
});
