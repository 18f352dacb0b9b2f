import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { connect, describeE2e, dropNode, endE2eTest, newPage, screenshot, selectNode, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

/** Issue 15's ops admin, used to HubSpot Workflows: builds and runs flows with pickers and words, never JSON. */
describeE2e('builder UI end to end: an ops admin with pickers and plain words', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    // The workspace's data: contacts with a plan, and orders. The pickers offer what is here.
    for (const [email, plan] of [['pia@example.com', 'pro'], ['fred@example.com', 'free']]) {
      expect((await server.h.call('POST', '/v1/events', { type: 'order.placed', contact: { email, properties: { plan } }, properties: { total: 30 } })).status).toBe(202);
    }
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page, { closePage: true }));

  afterAll(() => stopE2e(browser, server));

  it('builds "no order in 30 days → plan is pro? → email / owner task" typing "30 days" and picking plan from a list', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.getByRole('button', { name: 'New flow' }).click();
    await page.getByLabel('Name').fill('Win back quiet customers');
    await page.getByRole('button', { name: 'Create flow' }).click();
    await page.locator('.react-flow__pane').waitFor();
    const flowId = new URL(page.url()).pathname.split('/')[2]!;

    await dropNode(page, 'trigger.event', 360, 50);
    await page.locator('#root_event').fill('order.placed');
    await dropNode(page, 'wait_for_event', 360, 170);
    await page.locator('#root_event').fill('order.placed');
    await page.locator('#root_timeout').fill('30 days');
    await page.getByText('Saved as').getByText('P30D').waitFor();
    await dropNode(page, 'condition', 360, 300);
    const rule = page.getByRole('group', { name: 'Rule' });
    await rule.getByRole('button', { name: 'Add condition' }).click();
    const fact = rule.getByTestId('rule-fact').first();
    await fact.getByLabel('Field').selectOption({ label: 'plan' });
    await fact.getByLabel('Operator').selectOption({ label: 'is' });
    await fact.getByLabel('Value').fill('pro');
    await fact.getByLabel('Value').press('Enter');
    await dropNode(page, 'action.send_email', 200, 460);
    await page.locator('#root_subject').fill('We miss you');
    await page.locator('#root_text').fill('Come back for 20% off.');
    await dropNode(page, 'action.create_task', 540, 460);
    await page.locator('#root_title').fill('Call {{ contact.email }}: no order in 30 days');
    await page.locator('#root_due_in').fill('2 days');
    // An order within the 30 days ends the run.
    await page.getByRole('searchbox', { name: 'Search nodes' }).fill('end');
    await dropNode(page, 'end', 620, 60);
    await page.getByRole('searchbox', { name: 'Search nodes' }).fill('');

    await connect(page, 'trigger_event', 'default', 'wait_for_event');
    await connect(page, 'wait_for_event', 'timeout', 'condition');
    await connect(page, 'condition', 'true', 'action_send_email');
    await connect(page, 'condition', 'false', 'action_create_task');
    await connect(page, 'wait_for_event', 'event', 'end');
    await page.getByText('All changes saved').waitFor();
    const badge = page.getByRole('button', { name: /problems?$/ });
    await expect.poll(async () => `${await badge.getAttribute('aria-label')}${await badge.getAttribute('title')}`, { timeout: 10_000 }).toBe('0 problems');
    await expect(page.locator('[data-testid="node-wait_for_event"] .fnode-summary').textContent()).resolves.toContain('30 days');
    await expect(page.locator('[data-testid="node-condition"] .fnode-summary').textContent()).resolves.toContain('plan is pro');
    await screenshot(page, '31-ops-admin-pickers');

    const draft = (await server.h.call('GET', `/v1/flows/${flowId}`)).body.draft;
    const byId = Object.fromEntries(draft.nodes.map((n: { id: string }) => [n.id, n]));
    expect(byId.wait_for_event.config).toMatchObject({ event: 'order.placed', timeout: 'P30D' });
    expect(byId.condition.config).toEqual({ rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'pro' }] } });
    expect(byId.action_create_task.config).toMatchObject({ due_in: 'P2D' });
    expect((await server.h.call('POST', `/v1/flows/${flowId}/publish`, {})).status).toBe(200);
  });

  it('pauses and resumes, searches flows, restores a version as the draft, and tests each wait\'s outcome with a contact found by search', async () => {
    const node = (id: string, type: string, config: Record<string, unknown>, y: number, label?: string) => ({ id, type, position: { x: 0, y }, config, ...(label ? { label } : {}) });
    const doc = (tag: string) => ({
      schema: 'cairn.flow/v1', name: 'Demo follow-up', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        node('start', 'trigger.event', { event: 'order.placed' }, 0),
        node('wait', 'wait_for_event', { event: 'demo.booked', timeout: 'P3D' }, 150, 'Wait for the demo'),
        node('booked', 'action.tag', { add: [tag] }, 300, 'Tag booked'),
        { ...node('nudged', 'action.tag', { add: ['nudged'] }, 300, 'Tag nudged'), position: { x: 320, y: 300 } },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'wait' },
        { id: 'e2', source: 'wait', sourceHandle: 'event', target: 'booked' },
        { id: 'e3', source: 'wait', sourceHandle: 'timeout', target: 'nudged' },
      ],
    });
    const id = (await server.h.call('POST', '/v1/flows', doc('booked'))).body.id as string;
    expect((await server.h.call('POST', `/v1/flows/${id}/publish`, { note: 'first cut' })).status).toBe(200);
    expect((await server.h.call('PUT', `/v1/flows/${id}/draft`, doc('booked-v2'))).status).toBe(200);
    expect((await server.h.call('POST', `/v1/flows/${id}/publish`, { note: 'renamed tag' })).status).toBe(200);
    const status = async () => (await server.h.call('GET', `/v1/flows/${id}`)).body.status as string;

    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    const flows = page.getByRole('table', { name: 'Flows' });
    await page.getByRole('searchbox', { name: 'Search flows' }).fill('demo fol');
    await expect.poll(() => flows.getByRole('link').allTextContents()).toEqual(['Demo follow-up']);
    await page.getByRole('searchbox', { name: 'Search flows' }).fill('no such flow');
    await page.getByText('No flow matches').waitFor();
    await page.getByRole('searchbox', { name: 'Search flows' }).fill('demo');
    await page.getByRole('button', { name: 'Pause Demo follow-up' }).click();
    await expect.poll(status, { timeout: 10_000 }).toBe('paused');
    await screenshot(page, '32-flows-search-paused');
    await page.getByRole('button', { name: 'Resume Demo follow-up' }).click();
    await expect.poll(status, { timeout: 10_000 }).toBe('active');

    await page.getByRole('link', { name: 'Demo follow-up', exact: true }).click();
    await selectNode(page, 'booked');
    await page.getByRole('button', { name: 'History' }).click();
    const history = page.getByRole('dialog', { name: 'Version history' });
    await history.getByText('renamed tag').waitFor();
    await screenshot(page, '33-version-history');
    await history.getByRole('button', { name: 'Restore v1 as draft' }).click();
    await page.getByText('All changes saved').waitFor();
    await expect.poll(async () => (await server.h.call('GET', `/v1/flows/${id}`)).body.draft.nodes[2].config, { timeout: 10_000 }).toEqual({ add: ['booked'] });

    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const panel = page.getByRole('complementary', { name: 'Test panel' });
    await panel.getByRole('tab', { name: 'Existing contact' }).click();
    await panel.getByRole('searchbox').fill('PIA');
    await panel.getByRole('button', { name: 'pia@example.com' }).click();
    const outcome = panel.getByLabel('Outcome of Wait for the demo');
    await outcome.selectOption({ label: 'The event arrives' });
    await panel.getByRole('button', { name: 'Run test' }).click();
    await expect.poll(() => page.locator('[data-testid="node-booked"].on-path').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('[data-testid="node-nudged"].on-path').count()).toBe(0);
    await screenshot(page, '34-test-wait-outcome');
    await outcome.selectOption({ label: 'It times out' });
    await panel.getByRole('button', { name: 'Run test' }).click();
    await expect.poll(() => page.locator('[data-testid="node-nudged"].on-path').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('[data-testid="node-booked"].on-path').count()).toBe(0);
    await expect(panel.getByLabel('Test result').textContent()).resolves.toContain('Tag nudged');
  });
});
