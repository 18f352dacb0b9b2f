import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { eventually } from '../../../engine/test/engine-harness.ts';
import { describeE2e, endE2eTest, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/** A UUID's tail as the screens used to shorten it ("…27cf7865"). */
const SHORT_ID = /…[0-9a-f]{8}\b/;

/** Issue 15, deliver 5 and 2: names instead of ids on runs, timelines and contacts; schedules and help in words. */
describeE2e('builder UI end to end: names everywhere, plain language', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page, { closePage: true }));

  afterAll(() => stopE2e(browser, server));

  /** The page's visible text: no UUID, no shortened id, none of the flow's node ids. */
  const expectNoIds = async (where: string, nodeIds: string[]) => {
    const text = await page.locator('main, .page').first().innerText();
    expect(text, where).not.toMatch(UUID);
    expect(text, where).not.toMatch(SHORT_ID);
    for (const id of nodeIds) expect(text, `${where}: node id ${id}`).not.toContain(id);
    return text;
  };

  it('runs, a run’s timeline and a contact’s page show flow names, step names and emails, never ids', async () => {
    const nodeIds = ['n_start_x1', 'n_mark_x2', 'n_wait_x3', 'n_done_x4'];
    const doc = {
      schema: 'cairn.flow/v1',
      name: 'Hot lead follow-up',
      settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: nodeIds[0], type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.created' } },
        { id: nodeIds[1], type: 'action.tag', label: 'Mark as hot', position: { x: 0, y: 170 }, config: { add: ['hot'] } },
        { id: nodeIds[2], type: 'delay', position: { x: 0, y: 340 }, config: { mode: 'duration', duration: 'P3D' } },
        { id: nodeIds[3], type: 'end', position: { x: 0, y: 510 }, config: {} },
      ],
      edges: [
        { id: 'e1', source: nodeIds[0], target: nodeIds[1] },
        { id: 'e2', source: nodeIds[1], target: nodeIds[2] },
        { id: 'e3', source: nodeIds[2], target: nodeIds[3] },
      ],
    };
    const created = await server.h.call('POST', '/v1/flows', doc);
    expect((await server.h.call('POST', `/v1/flows/${created.body.id}/publish`, {})).status).toBe(200);
    const ev = await server.h.call('POST', '/v1/events', { type: 'lead.created', contact: { email: 'grace@names.test' } });
    const contactId = ev.body.contact_id as string;
    const run = await eventually(async () => (await server.h.call('GET', `/v1/runs?contact_id=${contactId}`)).body.items.find((r: { status: string }) => r.status === 'waiting'));

    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.goto(`${server.url}/runs`);
    const table = page.getByRole('table', { name: 'Runs' });
    await table.getByText('grace@names.test').waitFor();
    // The step's name comes from the version's document, fetched after the list: wait for it rather than race it.
    await table.getByText('Delay').waitFor();
    const list = await expectNoIds('runs', nodeIds);
    expect(list).toContain('Hot lead follow-up');
    expect(list).toContain('Delay');

    await page.goto(`${server.url}/runs?contact_id=${contactId}`);
    await page.getByRole('search', { name: 'Filter runs' }).getByText('grace@names.test').waitFor();
    await expectNoIds('runs of one contact', nodeIds);

    await page.goto(`${server.url}/runs/${run.id}`);
    const steps = page.getByRole('region', { name: 'Steps' });
    await steps.getByText('Mark as hot').waitFor();
    await steps.getByText('When an event arrives').waitFor();
    const timeline = await expectNoIds('run', nodeIds);
    expect(timeline).toContain('grace@names.test');
    await screenshot(page, '33-run-names');

    await page.goto(`${server.url}/contacts/${contactId}`);
    await page.getByRole('region', { name: 'Timeline' }).getByText('Hot lead follow-up › Mark as hot').first().waitFor();
    const profile = await expectNoIds('contact', nodeIds);
    expect(profile).toContain('Hot lead follow-up v1');
    await screenshot(page, '34-contact-names');
  });

  it('a schedule is typed as "8am every day" and shown as "09:00 on weekdays", stored as cron; help text has no backticks', async () => {
    const doc = {
      schema: 'cairn.flow/v1',
      name: 'Weekday digest',
      settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'sched', type: 'trigger.schedule', position: { x: 0, y: 0 }, config: { cron: '0 9 * * 1-5', timezone: 'Europe/Paris' } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 170 }, config: { add: ['digest'] } },
      ],
      edges: [{ id: 'e1', source: 'sched', target: 'tag' }],
    };
    const created = await server.h.call('POST', '/v1/flows', doc);
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.goto(`${server.url}/flows/${created.body.id}`);
    await page.locator('[data-testid="node-sched"] .fnode-head').click();
    const cron = page.locator('#root_cron');
    await expect.poll(() => cron.inputValue()).toBe('09:00 on weekdays');
    const inspector = page.getByRole('complementary', { name: 'Inspector' });
    expect(await inspector.innerText()).not.toContain('`');
    await cron.fill('8am every day');
    await inspector.getByText('Saved as').waitFor();
    await expect.poll(async () => (await server.h.call('GET', `/v1/flows/${created.body.id}`)).body.draft.nodes[0].config.cron, { timeout: 10_000 }).toBe('0 8 * * *');
    await cron.fill('whenever');
    await inspector.getByText(/Type a schedule such as/).waitFor();
    await screenshot(page, '35-schedule-in-words');
    expect((await server.h.call('GET', `/v1/flows/${created.body.id}`)).body.draft.nodes[0].config.cron).toBe('0 8 * * *');
  });

  it('the rule builder offers every operator in words and builds "3+ order.completed in the last 90 days" from pickers', async () => {
    expect((await server.h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'buyer@names.test' }, properties: { amount: 20 } })).status).toBe(202);
    const doc = {
      schema: 'cairn.flow/v1',
      name: 'Loyal buyers',
      settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'order.completed' } },
        { id: 'loyal', type: 'condition', position: { x: 0, y: 170 }, config: { rule: { all: [{ fact: 'contact', path: '$.email', operator: 'exists', value: true }] } } },
        { id: 'vip', type: 'action.tag', position: { x: -150, y: 340 }, config: { add: ['vip'] } },
        { id: 'stop', type: 'end', position: { x: 150, y: 340 }, config: {} },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'loyal' },
        { id: 'e2', source: 'loyal', sourceHandle: 'true', target: 'vip' },
        { id: 'e3', source: 'loyal', sourceHandle: 'false', target: 'stop' },
      ],
    };
    const created = await server.h.call('POST', '/v1/flows', doc);
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.goto(`${server.url}/flows/${created.body.id}`);
    await page.locator('[data-testid="node-loyal"] .fnode-head').click();
    const fact = page.getByTestId('rule-fact').first();
    await fact.getByLabel('Operator').waitFor();
    const operators = await fact.getByLabel('Operator').locator('option').evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, label: o.textContent ?? '' })));
    for (const op of ['exists', 'withinLast', 'notWithinLast', 'before', 'after', 'hasTag', 'startsWith', 'matches', 'isEmpty', 'isNotEmpty']) {
      const offered = operators.find((o) => o.value === op);
      expect(offered, op).toBeDefined();
      expect(offered!.label, op).not.toBe(op);
    }
    await fact.getByLabel('Fact').selectOption({ label: 'Activity' });
    await fact.getByLabel('Event type').selectOption('order.completed');
    await fact.getByLabel('Window').fill('90 days');
    await fact.getByLabel('Operator').selectOption({ label: 'is at least' });
    await fact.getByLabel('Value').fill('3');
    await fact.getByLabel('Value').press('Enter');
    const expected = { all: [{ fact: 'activity', params: { event: 'order.completed', measure: 'count', within: 'P90D' }, operator: 'greaterThanInclusive', value: 3 }] };
    await expect.poll(async () => (await server.h.call('GET', `/v1/flows/${created.body.id}`)).body.draft.nodes[1].config.rule, { timeout: 10_000 }).toEqual(expected);
    await page.locator('[data-testid="node-loyal"] .fnode-summary').getByText('number of order.completed in the last 90 days is at least 3').waitFor();
    expect((await server.h.call('POST', `/v1/flows/${created.body.id}/validate`, {})).body).toEqual({ valid: true, errors: [] });
    await screenshot(page, '36-rule-builder-activity');
  });
});
