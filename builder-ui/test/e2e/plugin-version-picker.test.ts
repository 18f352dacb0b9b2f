import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { describeE2e, endE2eTest, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

/**
 * The version picker of a plugin node (issue 16, deliverable 9) in a real browser: it defaults to "Latest stable",
 * lists the plugin's published versions with pre-releases marked, and the chosen version is saved in the draft as the
 * node's `plugin_version` (back to "Latest stable" removes it).
 */
describeE2e('builder UI end to end: plugin version picker', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let flowId: string;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    for (const version of ['1.0.0', '1.1.0', '2.0.0-beta.1']) {
      const b = await buildPlugin(fileURLToPath(new URL(`../../../engine/test/fixtures/hooked-${version}.ts`, import.meta.url)));
      expect((await server.h.call('POST', '/v1/plugins', { manifest: b.manifest, bundle: b.bundle })).status).toBe(201);
    }
    const created = await server.h.call('POST', '/v1/flows', {
      schema: 'cairn.flow/v1', name: 'Pinned in the builder', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'pin.ui' } },
        { id: 'which', type: 'plugin:hooked/which', position: { x: 0, y: 170 }, config: {} },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'which' }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    flowId = created.body.id;
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page, { closePage: true }));

  afterAll(() => stopE2e(browser, server));

  const draftNode = async () => (await server.h.call('GET', `/v1/flows/${flowId}`)).body.draft.nodes.find((n: { id: string }) => n.id === 'which');

  it('defaults to latest stable, lists versions with pre-releases marked, and saves the chosen version in the draft', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.goto(`${server.url}/flows/${flowId}`);
    await page.locator('[data-testid="node-which"]').click();
    const picker = page.getByRole('complementary', { name: 'Inspector' }).getByLabel('Plugin version');
    await picker.waitFor({ timeout: 20_000 });
    await picker.locator('option', { hasText: '2.0.0-beta.1 (pre-release)' }).waitFor({ state: 'attached', timeout: 20_000 });
    expect(await picker.inputValue()).toBe('');
    expect(await picker.locator('option').allInnerTexts()).toEqual(['Latest stable (1.1.0 now)', '2.0.0-beta.1 (pre-release)', '1.1.0', '1.0.0']);

    await picker.selectOption('2.0.0-beta.1');
    await expect.poll(async () => (await draftNode()).plugin_version, { timeout: 30_000, interval: 200 }).toBe('2.0.0-beta.1');

    await picker.selectOption('1.0.0');
    await expect.poll(async () => (await draftNode()).plugin_version, { timeout: 30_000, interval: 200 }).toBe('1.0.0');
    await picker.selectOption('');
    await expect.poll(async () => (await draftNode()).plugin_version, { timeout: 30_000, interval: 200 }).toBeUndefined();
    await screenshot(page, 'plugin-version-picker');
  });
});
