import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { seriousViolations } from './axe.ts';
import { describeE2e, endE2eTest, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

const DAY = 86_400_000;
const node = (id: string, type: string, config: Record<string, unknown>, x: number, y: number) => ({ id, type, position: { x, y }, config });
const flowWith = (plan: string) => ({
  schema: 'cairn.flow/v1', name: 'Upsell by plan',
  settings: { reentry: 'never', goal: { event: 'plan.upgraded' }, exit_on: [] },
  nodes: [
    node('start', 'trigger.event', { event: 'signup.completed' }, 0, 0),
    node('cond', 'condition', { rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: plan }] } }, 0, 160),
    node('yes', 'action.tag', { add: ['upsell'] }, -160, 320),
    node('no', 'action.tag', { add: ['nurture'] }, 160, 320),
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'cond' },
    { id: 'e2', source: 'cond', sourceHandle: 'true', target: 'yes' },
    { id: 'e3', source: 'cond', sourceHandle: 'false', target: 'no' },
  ],
});

/** Issue 14 deliver 3 / acceptance "Browser e2e: backtest from the editor shows counts on the canvas". */
describeE2e('builder UI end to end: backtest in the editor', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let flowId: string;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    // 40 signups over the last 10 days, before the flow existed: a quarter on the pro plan, a fifth of them upgrade.
    const events = Array.from({ length: 40 }, (_, i) => ({
      type: 'signup.completed', contact: { email: `u${i}@example.com`, properties: { plan: i % 4 === 0 ? 'pro' : 'free' } }, occurred_at: new Date(Date.now() - (1 + i / 4) * DAY).toISOString(),
    }));
    for (let i = 0; i < 40; i += 5) events.push({ type: 'plan.upgraded', contact: { email: `u${i}@example.com`, properties: {} }, occurred_at: new Date(Date.now() - DAY / 2).toISOString() } as never);
    expect((await server.h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
    const created = await server.h.call('POST', '/v1/flows', flowWith('pro'));
    flowId = created.body.id;
    expect((await server.h.call('POST', `/v1/flows/${flowId}/publish`, { note: 'pro only' })).status).toBe(200);
    // The draft now targets the free plan: version 1 and the draft give different counts.
    const flow = (await server.h.call('GET', `/v1/flows/${flowId}`)).body;
    expect((await server.h.call('PUT', `/v1/flows/${flowId}/draft`, { ...flowWith('free'), name: flow.name })).status).toBe(200);
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page, { closePage: true }));

  afterAll(() => stopE2e(browser, server));

  /** The numbers a node card shows (in, waiting, done, failed, ended here). */
  const cardCounts = async (id: string) => {
    const text = await page.locator(`[data-testid="node-${id}"] [aria-label="Backtest counts"]`).innerText();
    return text.match(/\d+/g)!.map(Number);
  };

  it('runs a backtest of the draft, shows progress, draws per-node counts on the canvas, lists samples; compares with version 1 side by side', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.goto(`${server.url}/flows/${flowId}`);
    await page.getByRole('button', { name: '0 problems' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Backtest', exact: true }).click();
    const panel = page.getByRole('complementary', { name: 'Backtest' });

    // Version 1 first, then the draft, over the default period (the last 30 days).
    await panel.getByLabel('Replay').selectOption('1');
    await panel.getByRole('button', { name: 'Run backtest' }).click();
    await panel.getByRole('status').filter({ hasText: /^done:/ }).waitFor({ timeout: 60_000 });
    await panel.getByLabel('Replay').selectOption('draft');
    await panel.getByRole('button', { name: 'Run backtest' }).click();
    await panel.getByRole('heading', { name: /^Draft · / }).waitFor();
    await panel.getByRole('status').filter({ hasText: /^done:/ }).waitFor({ timeout: 60_000 });

    const list = (await server.h.call('GET', `/v1/flows/${flowId}/backtests`)).body.items as Array<{ id: string; version: string | number; status: string }>;
    expect(list.map((b) => [b.version, b.status])).toEqual([['draft', 'done'], [1, 'done']]);
    const draft = (await server.h.call('GET', `/v1/flows/${flowId}/backtests/${list[0]!.id}`)).body;
    expect(draft.nodes.start.entered).toBe(40);
    expect(draft.nodes.no.entered).toBe(10);
    expect(draft.nodes.yes.entered).toBe(30);
    // Counts on the canvas, as live counts are drawn: each card says what the API says.
    for (const id of ['start', 'cond', 'yes', 'no']) {
      const n = draft.nodes[id];
      await expect.poll(() => cardCounts(id), { timeout: 10_000 }).toEqual([n.entered, n.waiting, n.completed, n.failed, Math.max(0, n.entered - n.completed - n.failed - n.waiting)]);
    }
    await page.locator('[data-testid="node-cond"] .fnode-head').click();
    const selected = panel.getByLabel('Selected node in the backtest');
    await selected.getByText(`Branches: ${Object.entries(draft.nodes.cond.branches).map(([h, n]) => `${h} ${n}`).join(' · ')}`).waitFor();
    const samples = selected.getByRole('list', { name: 'Sample contacts' }).getByRole('link');
    await expect.poll(() => samples.count()).toBe(draft.nodes.cond.samples.length);
    await samples.first().filter({ hasText: /@example\.com$/ }).waitFor();
    await screenshot(page, '80-backtest-canvas');
    const violations = await seriousViolations(page);

    // Side by side: A = version 1, B = the draft.
    const compare = panel.getByRole('region', { name: 'Compare backtests' });
    await compare.getByLabel('Backtest A').selectOption(list[1]!.id);
    await compare.getByLabel('Backtest B').selectOption(list[0]!.id);
    const cmp = (await server.h.call('GET', `/v1/flows/${flowId}/backtests/compare?a=${list[1]!.id}&b=${list[0]!.id}`)).body;
    expect(cmp.diff.nodes.yes.entered).toBe(30 - 10);
    await compare.getByRole('table', { name: 'Backtests side by side' }).waitFor();
    const yesRow = compare.getByRole('row').filter({ hasText: '+20' });
    await expect.poll(() => yesRow.count()).toBe(1);
    expect((await yesRow.innerText()).match(/\d+/g)!.map(Number).slice(0, 2)).toEqual([cmp.a.nodes.yes.entered, cmp.b.nodes.yes.entered]);
    await screenshot(page, '81-backtest-compare');
    expect(violations).toEqual([]);
    expect(await seriousViolations(page)).toEqual([]);

    // Nothing was written by either replay: no run of the flow exists.
    expect((await server.h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items).toEqual([]);
  });
});
