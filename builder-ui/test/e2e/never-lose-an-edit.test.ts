import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { leadRoutingFlow } from '../../../engine/test/engine-harness.ts';
import { describeE2e, endE2eTest, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

type Doc = { name: string; nodes: Array<{ id: string; config: Record<string, unknown> }>; edges: Array<{ sourceHandle?: string }> };

/**
 * The data-loss bugs of issue 15, each reproduced the way an ops admin met it: a reopened flow showing an older
 * draft, an edit typed just before leaving, validation after a reload, and two tabs editing the same flow.
 */
describeE2e('builder UI end to end: never lose an edit', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let other: Page | undefined;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
  }, 300_000);

  afterEach(async (ctx) => {
    await endE2eTest(ctx, page, { closePage: true });
    await other?.context().close();
    other = undefined;
  });

  afterAll(() => stopE2e(browser, server));

  const createFlow = async (name: string, edit?: (doc: Doc) => void): Promise<string> => {
    const doc = { ...leadRoutingFlow(), name } as unknown as Doc;
    edit?.(doc);
    const created = await server.h.call('POST', '/v1/flows', doc);
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  const serverDraft = async (id: string): Promise<Doc> => (await server.h.call('GET', `/v1/flows/${id}`)).body.draft;
  const poolOnServer = async (id: string) => (await serverDraft(id)).nodes.find((n) => n.id === 'assign')!.config.pool;
  const openFromList = async (p: Page, name: string) => {
    await p.getByRole('link', { name, exact: true }).click();
    await p.locator('[data-testid="node-assign"]').waitFor();
  };
  const selectAssign = async (p: Page) => {
    await p.locator('[data-testid="node-assign"] .fnode-head').click();
    await p.locator('#root_pool').waitFor();
  };

  it('a flow reopened in the same session shows the latest saved draft, and a later edit keeps it', async () => {
    const id = await createFlow('Reopen shows the latest draft');
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await openFromList(page, 'Reopen shows the latest draft');
    await selectAssign(page);
    await page.locator('#root_pool').fill('S3');
    await page.getByText('All changes saved').waitFor();
    await expect.poll(() => poolOnServer(id)).toBe('S3');

    await page.getByRole('button', { name: 'Back to flows' }).click();
    await openFromList(page, 'Reopen shows the latest draft');
    await selectAssign(page);
    await expect(page.locator('#root_pool').inputValue()).resolves.toBe('S3');
    // Editing another field saves on top of S3, not on top of the draft first opened.
    await page.locator('[data-testid="node-big"] .fnode-head').click();
    await page.getByRole('textbox', { name: 'Label' }).fill('Big enough?');
    await page.getByText('All changes saved').waitFor();
    await expect.poll(async () => (await serverDraft(id)).nodes.find((n) => n.id === 'big')!).toMatchObject({ label: 'Big enough?' });
    expect(await poolOnServer(id)).toBe('S3');
  });

  it('an edit typed just before leaving the editor is saved, and closing the tab with it pending warns first', async () => {
    const id = await createFlow('Leave right after typing');
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await openFromList(page, 'Leave right after typing');
    await selectAssign(page);
    await page.locator('#root_pool').fill('typed-then-left');
    await page.getByRole('button', { name: 'Back to flows' }).click();
    await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
    await expect.poll(() => poolOnServer(id), { timeout: 10_000 }).toBe('typed-then-left');

    // Tab close: the browser asks before leaving with an unsaved edit, and the edit is sent as the page goes.
    await openFromList(page, 'Leave right after typing');
    await selectAssign(page);
    await page.locator('#root_pool').fill('typed-then-closed');
    const asked = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.type()); void d.accept(); }));
    await page.close({ runBeforeUnload: true });
    expect(await asked).toBe('beforeunload');
    await expect.poll(() => poolOnServer(id), { timeout: 10_000 }).toBe('typed-then-closed');
  });

  it('validation after opening the editor by URL carries the CSRF header and shows the engine\'s problems', async () => {
    // The trigger has no event: only the engine's validation finds it (the canvas's structural checks do not).
    const id = await createFlow('Opened by URL, invalid', (doc) => {
      doc.nodes.find((n) => n.id === 'start')!.config = {};
    });
    const expected = (await server.h.call('POST', `/v1/flows/${id}/validate`, {})).body.errors.length as number;
    expect(expected).toBeGreaterThan(0);
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    const refused: string[] = [];
    page.on('response', (r) => { if (r.status() === 403) refused.push(r.url()); });
    for (let i = 0; i < 3; i++) {
      await page.goto(`${server.url}/flows/${id}`);
      await page.locator('[data-testid="node-start"]').waitFor();
      const badge = page.getByRole('button', { name: /problems?$/ });
      await expect.poll(() => badge.getAttribute('aria-label'), { timeout: 10_000 }).toBe(`${expected} problem${expected === 1 ? '' : 's'}`);
      await expect.poll(() => page.locator('[data-testid="node-start"]').getAttribute('class')).toContain('has-error');
    }
    expect(refused).toEqual([]);
    await expect(page.getByRole('button', { name: '0 problems', exact: true }).count()).resolves.toBe(0);
  });

  it('two tabs editing one flow: the stale tab\'s save is refused with 409 and it offers to reload, never overwriting', async () => {
    const id = await createFlow('Two tabs');
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    other = await page.context().newPage();
    for (const p of [page, other]) {
      await p.goto(`${server.url}/flows/${id}`);
      await selectAssign(p);
    }
    await page.locator('#root_pool').fill('from-tab-one');
    await page.getByText('All changes saved').waitFor();
    expect(await poolOnServer(id)).toBe('from-tab-one');

    const conflicts: number[] = [];
    other.on('response', (r) => { if (r.url().endsWith('/draft') && r.request().method() === 'PUT') conflicts.push(r.status()); });
    await other.locator('#root_pool').fill('from-tab-two');
    const dialog = other.getByRole('alertdialog', { name: 'This flow changed elsewhere' });
    await dialog.waitFor();
    expect(conflicts).toContain(409);
    expect(await poolOnServer(id)).toBe('from-tab-one');
    await screenshot(other, '30-draft-conflict');

    await dialog.getByRole('button', { name: 'Reload the latest draft' }).click();
    await selectAssign(other);
    await expect.poll(() => other!.locator('#root_pool').inputValue()).toBe('from-tab-one');
    // The reloaded tab edits on top of the latest draft normally.
    await other.locator('#root_pool').fill('after-reload');
    await other.getByText('All changes saved').waitFor();
    expect(await poolOnServer(id)).toBe('after-reload');
  });
});
