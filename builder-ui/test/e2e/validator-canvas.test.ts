import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { eventually, leadRoutingFlow } from '../../../engine/test/engine-harness.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidDrafts } from '../../src/graph/fixtures.ts';
import { describeE2e, endE2eTest, newPage, ROOT, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

const examples = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => [d.name, JSON.parse(readFileSync(join(ROOT, 'examples', d.name, 'flow.json'), 'utf8')) as { nodes: { id: string; type: string }[] }] as const);

type Box = { x: number; y: number; width: number; height: number };
const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (a: Box, b: Box) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.width <= b.x + b.width + 0.5 && a.y + a.height <= b.y + b.height + 0.5;

/** Issue 15, deliver 3 and 4: one validator (the engine's words in the builder) and the canvas details. */
describeE2e('builder UI end to end: one validator, and a canvas that stays readable', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page, { closePage: true }));

  afterAll(() => stopE2e(browser, server));

  const open = async (doc: unknown): Promise<string> => {
    const created = await server.h.call('POST', '/v1/flows', doc);
    expect(created.status).toBe(201);
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.goto(`${server.url}/flows/${created.body.id}`);
    await page.locator('.react-flow__node').first().waitFor();
    return created.body.id as string;
  };
  const boxes = (sel: string) => page.locator(sel).evaluateAll((els) => els.map((e) => { const r = e.getBoundingClientRect(); return { id: (e as HTMLElement).dataset.id ?? '', x: r.x, y: r.y, width: r.width, height: r.height }; }));
  const problemsButton = () => page.getByRole('toolbar', { name: 'Flow editor' }).getByRole('button', { name: /problems?$|Checking|Not checked/ });
  /** The problems the editor lists (the badge's tooltip: one "<node or path>: <message>" line each). */
  const shownProblems = async () => ((await problemsButton().getAttribute('title')) ?? '').split('\n').filter(Boolean).sort();
  const apiProblems = async (id: string) => {
    const res = await server.h.call('POST', `/v1/flows/${id}/validate`, {});
    expect(res.status).toBe(200);
    return (res.body.errors as { path: string; message: string; node_id?: string }[]).map((e) => `${e.node_id ?? e.path}: ${e.message}`).sort();
  };

  it('shows exactly the engine’s problems (count and words) for each invalid draft, an empty condition included', async () => {
    const drafts = invalidDrafts();
    const emptyRule = structuredClone(drafts['an unknown handle']!);
    emptyRule.nodes[1]!.config = { rule: { all: [] } };
    const cases = { ...drafts, 'an empty condition and an unknown handle': emptyRule };
    for (const [name, doc] of Object.entries(cases)) {
      const id = await open({ ...doc, name: `Invalid: ${name}` });
      const expected = await apiProblems(id);
      expect(expected.length, name).toBeGreaterThan(0);
      await expect.poll(() => problemsButton().textContent(), { timeout: 15_000 }).toContain(`${expected.length} problem`);
      expect(await shownProblems(), name).toEqual(expected);
      if (name.startsWith('an empty condition')) {
        expect(expected.join('\n')).toContain('config.rule has no conditions');
        await screenshot(page, '30-validation-same-as-engine');
      }
      await page.context().close();
    }
  });

  it('an edit shows the engine’s wording at once (before the save), and the engine’s answer then agrees', async () => {
    const id = await open({ ...leadRoutingFlow(), name: 'Instant checks' });
    await expect.poll(() => problemsButton().textContent(), { timeout: 15_000 }).toContain('0 problems');
    await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
    const validated = page.waitForResponse((r) => r.url().endsWith(`/v1/flows/${id}/validate`));
    await page.locator('.palette-item[data-type="end"]').click();
    // Local check, before the debounced save: an unconnected node is unreachable.
    await expect.poll(() => problemsButton().textContent(), { timeout: 2_000 }).toContain('1 problem');
    const local = await shownProblems();
    expect(local).toEqual(['end: nodes[4] ("end") cannot be reached from the trigger "start"; connect it or delete it']);
    expect((await validated).status()).toBe(200);
    expect(await apiProblems(id)).toEqual(local);
    await expect.poll(() => shownProblems()).toEqual(local);
  });

  it('click or Enter adds a node next to the selection, on free space, joined to it', async () => {
    const id = await open({ ...leadRoutingFlow(), name: 'Add next to the selection' });
    await page.locator('[data-testid="node-assign"] .fnode-head').click();
    await page.locator('.palette-item[data-type="action.create_task"]').click();
    await page.locator('[data-testid="node-action_create_task"]').waitFor();
    // Enter on a palette item: the new task node is selected now, so the next node joins it.
    await page.locator('.palette-item[data-type="end"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="node-end"]').waitFor();
    const all = await boxes('.react-flow__node');
    expect(all).toHaveLength(6);
    for (const added of ['action_create_task', 'end']) {
      const box = all.find((b) => b.id === added)!;
      expect(all.filter((b) => b.id !== added && overlap(b, box)).map((b) => b.id), added).toEqual([]);
    }
    const assign = all.find((b) => b.id === 'assign')!;
    const task = all.find((b) => b.id === 'action_create_task')!;
    expect(task.y).toBeGreaterThan(assign.y + assign.height);
    await expect.poll(async () => (await server.h.call('GET', `/v1/flows/${id}`)).body.draft.edges.filter((e: { target: string }) => ['action_create_task', 'end'].includes(e.target)).map((e: { source: string; target: string }) => `${e.source}→${e.target}`), { timeout: 10_000 })
      .toEqual(['assign→action_create_task', 'action_create_task→end']);
    await screenshot(page, '31-added-next-to-selection');
  });

  it('live counts stay inside their cards (no card overlaps another) and count runs that converted at a step', async () => {
    const doc = {
      schema: 'cairn.flow/v1',
      name: 'Trial to paid',
      settings: { reentry: 'always', goal: { event: 'plan.upgraded' }, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'trial.started' } },
        { id: 'wait', type: 'wait_for_event', position: { x: 0, y: 170 }, config: { event: 'onboarding.done', timeout: 'P7D' } },
        { id: 'thanks', type: 'action.tag', position: { x: -150, y: 340 }, config: { add: ['onboarded'] } },
        { id: 'nudge', type: 'action.tag', position: { x: 150, y: 340 }, config: { add: ['stalled'] } },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'wait' },
        { id: 'e2', source: 'wait', sourceHandle: 'event', target: 'thanks' },
        { id: 'e3', source: 'wait', sourceHandle: 'timeout', target: 'nudge' },
      ],
    };
    const created = await server.h.call('POST', '/v1/flows', doc);
    const id = created.body.id as string;
    expect((await server.h.call('POST', `/v1/flows/${id}/publish`, {})).status).toBe(200);
    for (const who of ['a', 'b', 'c', 'd']) expect((await server.h.call('POST', '/v1/events', { type: 'trial.started', contact: { email: `${who}@trial.test` } })).status).toBe(202);
    await eventually(async () => (await server.h.call('GET', `/v1/flows/${id}/stats?version=1`)).body.nodes.wait?.waiting === 4);
    expect((await server.h.call('POST', '/v1/events', { type: 'plan.upgraded', contact: { email: 'a@trial.test' } })).status).toBe(202);
    expect((await server.h.call('POST', '/v1/events', { type: 'onboarding.done', contact: { email: 'b@trial.test' } })).status).toBe(202);
    await eventually(async () => (await server.h.call('GET', `/v1/flows/${id}/stats?version=1`)).body.runs.converted === 1);

    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.goto(`${server.url}/flows/${id}`);
    await page.locator('.react-flow__node').first().waitFor();
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    const wait = page.locator('[data-testid="node-wait"] .fnode-stats');
    await expect.poll(() => wait.textContent(), { timeout: 15_000 }).toBe('4 in2 waiting1 done0 failed1 ended here');
    // Exact text: the flow's conversion figure in the same bar also mentions "converted".
    await page.getByLabel('Run totals').getByText(/^\d+ converted$/).waitFor();
    expect(await page.getByLabel('Run totals').textContent()).toContain('1 converted');
    const cards = await boxes('.react-flow__node');
    for (const [i, a] of cards.entries()) expect(cards.slice(i + 1).filter((b) => overlap(a, b)).map((b) => `${a.id}×${b.id}`)).toEqual([]);
    for (const n of doc.nodes) {
      const card = (await page.locator(`[data-testid="node-${n.id}"]`).boundingBox())!;
      const stats = await page.locator(`[data-testid="node-${n.id}"] .fnode-stats > span`).evaluateAll((els) => els.map((e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; }));
      expect(stats).toHaveLength(5);
      for (const [i, s] of stats.entries()) {
        expect(inside(s, card), `${n.id} count ${i} inside its card`).toBe(true);
        expect(stats.slice(i + 1).some((t) => overlap(s, t)), `${n.id} counts overlap`).toBe(false);
      }
    }
    await screenshot(page, '32-live-counts-with-ended');
  });

  it('the minimap sits outside the canvas (covering no node) and folds away; the error outlet reads as optional', async () => {
    await open({ ...leadRoutingFlow(), name: 'Minimap and outlets' });
    const map = page.getByRole('img', { name: 'Minimap' }).or(page.locator('.react-flow__minimap'));
    const mapBox = (await map.first().boundingBox())!;
    const pane = (await page.locator('.react-flow').boundingBox())!;
    expect(overlap(mapBox, pane)).toBe(false);
    for (const n of await boxes('.react-flow__node')) expect(overlap(n, mapBox), n.id).toBe(false);
    await page.getByRole('button', { name: 'Hide minimap' }).click();
    expect(await page.locator('.react-flow__minimap').count()).toBe(0);
    await page.getByRole('button', { name: 'Show minimap' }).click();
    await page.locator('.react-flow__minimap').waitFor();

    const handle = page.locator('[data-testid="node-assign"] .h-error');
    const style = await handle.evaluate((el) => { const s = getComputedStyle(el); return { style: s.borderTopStyle, color: s.borderTopColor }; });
    expect(style).toEqual({ style: 'dashed', color: 'rgb(134, 142, 150)' });
    expect(await handle.getAttribute('aria-label')).toBe('assign error output (optional)');
    const label = page.locator('[data-testid="node-assign"] .out-error .fnode-out-label');
    expect(await label.textContent()).toBe('on error');
    expect(await label.getAttribute('title')).toMatch(/^Optional/);
    expect(await label.evaluate((el) => getComputedStyle(el).color)).not.toBe('rgb(201, 42, 42)');
  });

  it.each(examples)('examples/%s opens at a readable zoom, from its trigger', async (_name, example) => {
    await open(example);
    const scale = async () => page.locator('.react-flow__viewport').evaluate((el) => new DOMMatrixReadOnly(getComputedStyle(el).transform).a);
    await expect.poll(scale, { timeout: 5_000 }).toBeGreaterThanOrEqual(0.7);
    // The trigger's title is on screen, inside the canvas, and drawn at 9 px or more.
    const trigger = example.nodes.find((n) => n.type.startsWith('trigger.'))!;
    const title = page.locator(`[data-testid="node-${trigger.id}"] .fnode-title`);
    const px = await title.evaluate((el) => parseFloat(getComputedStyle(el).fontSize) * new DOMMatrixReadOnly(getComputedStyle(document.querySelector('.react-flow__viewport')!).transform).a);
    expect(px).toBeGreaterThanOrEqual(9);
    expect(inside((await title.boundingBox())!, (await page.locator('.react-flow').boundingBox())!)).toBe(true);
  });
});
