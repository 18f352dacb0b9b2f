import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { eventually, leadRoutingFlow, seedEnterprisePool } from '../../../engine/test/engine-harness.ts';
import { seriousViolations } from './axe.ts';
import { describeE2e, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

/** Every main screen at 1280×800 (screenshots for review) with an accessibility check, and the editor at 1024×768. */
describeE2e('builder UI end to end: main screens and accessibility', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let flowId: string;
  let runId: string;
  let contactId: string;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    await seedEnterprisePool(server.h);
    flowId = (await server.h.call('POST', '/v1/flows', leadRoutingFlow())).body.id;
    expect((await server.h.call('POST', `/v1/flows/${flowId}/publish`, { note: 'first' })).status).toBe(200);
    const ev = await server.h.call('POST', '/v1/events', { type: 'lead.created', contact: { email: 'ada@acme.test', properties: { country: 'US', employees: 300 } } });
    contactId = ev.body.contact_id;
    runId = await eventually(async () => (await server.h.call('GET', `/v1/runs?flow_id=${flowId}&status=completed`)).body.items[0]?.id as string | undefined);
  }, 300_000);

  afterAll(async () => {
    await page?.context().close();
    await stopE2e(browser, server);
  });

  it('sign-in, flows, editor, runs, a run, contacts, a profile, plugins and an unknown page: screenshots, no serious axe violations', async () => {
    page = await newPage(browser);
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
    const found: Record<string, string[]> = {};
    found['sign-in'] = await seriousViolations(page);
    await screenshot(page, '40-screen-sign-in');
    await signIn(page, server, server.users.admin);

    const screens: Array<{ name: string; path: string; ready: (p: Page) => Promise<unknown> }> = [
      { name: 'flows', path: '/flows', ready: (p) => p.getByRole('table', { name: 'Flows' }).waitFor() },
      { name: 'editor', path: `/flows/${flowId}`, ready: (p) => p.getByRole('button', { name: '0 problems' }).waitFor({ timeout: 20_000 }) },
      { name: 'runs', path: '/runs', ready: (p) => p.getByRole('table', { name: 'Runs' }).waitFor() },
      { name: 'run', path: `/runs/${runId}`, ready: (p) => p.getByRole('heading', { name: 'Timeline' }).waitFor() },
      { name: 'contacts', path: '/contacts', ready: (p) => p.getByRole('table', { name: 'Contacts' }).waitFor() },
      { name: 'contact', path: `/contacts/${contactId}`, ready: (p) => p.getByRole('heading', { name: 'Profile' }).waitFor() },
      { name: 'plugins', path: '/plugins', ready: (p) => p.getByText('No plugins installed').waitFor() },
      { name: 'not-found', path: '/no-such-page', ready: (p) => p.getByText('Page not found').waitFor() },
    ];
    for (const [i, s] of screens.entries()) {
      await page.goto(`${server.url}${s.path}`);
      await s.ready(page);
      await screenshot(page, `${41 + i}-screen-${s.name}`);
      found[s.name] = await seriousViolations(page);
    }
    // Names, not ids: the run and the runs list say which flow, contact and node.
    await page.goto(`${server.url}/runs`);
    await page.getByRole('table', { name: 'Runs' }).getByText('ada@acme.test').waitFor();
    await page.getByRole('table', { name: 'Runs' }).getByText('Inbound lead routing').first().waitFor();

    // Usable at 1024×768: every screen again, with nothing wider than the window (no sideways scrolling) and no
    // serious axe violation; the editor keeps its toolbar actions and a canvas of usable width.
    await page.setViewportSize({ width: 1024, height: 768 });
    const small: Record<string, string[]> = {};
    for (const [i, s] of screens.entries()) {
      await page.goto(`${server.url}${s.path}`);
      await s.ready(page);
      await screenshot(page, `${60 + i}-screen-${s.name}-1024x768`);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      small[s.name] = [...(await seriousViolations(page)), ...(wide > 1 ? [`${wide}px wider than the window`] : [])];
    }
    await page.goto(`${server.url}/flows/${flowId}`);
    await page.getByRole('button', { name: '0 problems' }).waitFor({ timeout: 20_000 });
    await screenshot(page, '50-editor-1024x768');
    for (const name of ['Publish…', 'Test', 'History']) await expect(page.getByRole('button', { name, exact: true }).isVisible(), name).resolves.toBe(true);
    expect((await page.locator('.react-flow').boundingBox())!.width).toBeGreaterThanOrEqual(400);
    expect(small).toEqual(Object.fromEntries(Object.keys(small).map((k) => [k, []])));

    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  });
});
