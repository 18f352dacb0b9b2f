import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { eventually, seedEnterprisePool } from '../../../engine/test/engine-harness.ts';
import { connect, describeE2e, dropNode, endE2eTest, newPage, screenshot, selectNode, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

describeE2e('builder UI end to end: W1 lead routing built by hand', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let flowId: string;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    page = await newPage(browser);
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page));

  afterAll(() => stopE2e(browser, server));

  it('signs in with email and password', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Workspace').fill(server.slug);
    await page.getByLabel('Email').fill(server.users.admin.email);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong workspace, email or password.').waitFor();
    await signIn(page, server, server.users.admin);
    await page.getByText('No flows yet').waitFor();
    await screenshot(page, '02-flows-empty');
  });

  it('builds the flow from an empty canvas by drag and drop, with the rule builder, and publishes it', async () => {
    await seedEnterprisePool(server.h);
    await page.getByRole('button', { name: 'New flow' }).click();
    await page.getByLabel('Name').fill('Inbound lead routing');
    await page.getByRole('button', { name: 'Create flow' }).click();
    await page.locator('.react-flow__pane').waitFor();
    flowId = new URL(page.url()).pathname.split('/')[2]!;
    await screenshot(page, '03-editor-empty');

    await dropNode(page, 'trigger.event', 300, 70);
    await page.locator('#root_event').fill('lead.created');
    await dropNode(page, 'condition', 300, 230);
    await dropNode(page, 'action.assign_owner', 140, 420);
    await page.locator('#root_pool').fill('enterprise');
    await dropNode(page, 'action.tag', 480, 420);
    const tagForm = page.getByRole('complementary', { name: 'Inspector' });
    await tagForm.locator('button.btn-add').first().click();
    await page.locator('#root_add_0').fill('nurture');

    // The condition, with the visual rule builder: employees ≥ 50 AND country in US, CA.
    await selectNode(page, 'condition');
    const rule = page.getByRole('group', { name: 'Rule' });
    await rule.getByRole('button', { name: 'Add condition' }).click();
    await rule.getByRole('button', { name: 'Add condition' }).click();
    const facts = rule.getByTestId('rule-fact');
    await facts.nth(0).getByLabel('Field').selectOption({ label: 'Another property…' });
    await facts.nth(0).getByLabel('Property name').fill('employees');
    await facts.nth(0).getByLabel('Operator').selectOption('greaterThanInclusive');
    await facts.nth(0).getByLabel('Value').fill('50');
    await facts.nth(0).getByLabel('Value').press('Enter');
    await facts.nth(1).getByLabel('Field').selectOption({ label: 'Another property…' });
    await facts.nth(1).getByLabel('Property name').fill('country');
    await facts.nth(1).getByLabel('Operator').selectOption('in');
    await facts.nth(1).getByLabel('Value').fill('US, CA');
    await facts.nth(1).getByLabel('Value').press('Enter');

    await connect(page, 'trigger_event', 'default', 'condition');
    await connect(page, 'condition', 'true', 'action_assign_owner');
    await connect(page, 'condition', 'false', 'action_tag');
    await page.getByText('All changes saved').waitFor();
    await page.getByRole('button', { name: '0 problems' }).waitFor();
    await screenshot(page, '04-editor-built');

    const draft = (await server.h.call('GET', `/v1/flows/${flowId}`)).body.draft;
    const byId = Object.fromEntries(draft.nodes.map((n: { id: string }) => [n.id, n]));
    expect(byId.trigger_event.config).toEqual({ event: 'lead.created' });
    expect(byId.condition.config).toEqual({
      rule: { all: [
        { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
        { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA'] },
      ] },
    });
    expect(byId.action_assign_owner.config).toMatchObject({ pool: 'enterprise', strategy: 'round_robin' });
    expect(byId.action_tag.config).toEqual({ add: ['nurture'] });
    expect(draft.edges.map((e: { source: string; sourceHandle?: string; target: string }) => `${e.source}:${e.sourceHandle ?? ''}>${e.target}`).sort()).toEqual([
      'condition:false>action_tag', 'condition:true>action_assign_owner', 'trigger_event:>condition',
    ]);

    await page.getByRole('button', { name: 'Publish…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Publish the first version' });
    await expect(dialog.getByRole('list', { name: 'Changes' }).getByRole('listitem').count()).resolves.toBeGreaterThanOrEqual(4);
    await dialog.getByLabel('Version note').fill('W1 lead routing, built in the browser');
    await screenshot(page, '05-publish-dialog');
    await dialog.getByRole('button', { name: 'Publish' }).click();
    await page.getByText('Published version 1').waitFor();
    const flow = (await server.h.call('GET', `/v1/flows/${flowId}`)).body;
    expect(flow.published_version).toBe(1);
    expect(flow.versions[0].note).toBe('W1 lead routing, built in the browser');
  });

  it('shows per-node counts on the canvas after 10 events posted through the API', async () => {
    const countries = ['US', 'CA', 'US', 'FR', 'CA', 'DE', 'US', 'BR', 'CA', 'GB'];
    for (let i = 0; i < 10; i++) {
      const employees = i % 2 === 0 ? 200 : 10;
      const res = await server.h.call('POST', '/v1/events', {
        type: 'lead.created',
        contact: { email: `lead${i}@acme.test`, properties: { country: countries[i], employees } },
      });
      expect(res.status).toBe(202);
    }
    const enterprise = countries.filter((c, i) => i % 2 === 0 && ['US', 'CA'].includes(c)).length;
    await eventually(async () => {
      const s = (await server.h.call('GET', `/v1/flows/${flowId}/stats?version=1`)).body;
      return (s.nodes.action_assign_owner?.completed ?? 0) + (s.nodes.action_tag?.completed ?? 0) === 10;
    });
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    const assign = page.locator('[data-testid="node-action_assign_owner"] .fnode-stats');
    await expect.poll(() => assign.textContent(), { timeout: 15_000 }).toContain(`${enterprise} done`);
    await expect.poll(() => page.locator('[data-testid="node-action_tag"] .fnode-stats').textContent(), { timeout: 10_000 }).toContain(`${10 - enterprise} done`);
    await expect.poll(() => page.locator('[data-testid="node-trigger_event"] .fnode-stats').textContent(), { timeout: 10_000 }).toContain('10 in');
    await screenshot(page, '06-live-counts');
  });

  it('opens a run that shows the assigned owner', async () => {
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await expect.poll(() => page.getByRole('table', { name: 'Runs' }).locator('tbody tr').count(), { timeout: 10_000 }).toBe(10);
    await screenshot(page, '07-runs');
    const runs = (await server.h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items as Array<{ id: string }>;
    let assigned: string | undefined;
    for (const r of runs) {
      const run = (await server.h.call('GET', `/v1/runs/${r.id}`)).body;
      if (run.steps.some((s: { node_id: string }) => s.node_id === 'action_assign_owner')) assigned = r.id;
    }
    expect(assigned).toBeDefined();
    await page.locator(`a[href="/runs/${assigned}"]`).click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await expect.poll(() => page.getByTestId('run-owner').textContent(), { timeout: 10_000 }).toMatch(/^(ana|ben|chi) \((ana|ben|chi)@example\.com\)$/);
    // Steps are named as the canvas names them (the node's type title, as no label was set), not by node id.
    const steps = page.getByRole('region', { name: 'Steps' });
    await steps.getByText('Assign owner', { exact: true }).first().waitFor();
    expect(await steps.textContent()).not.toContain('action_assign_owner');
    await screenshot(page, '08-run-timeline');
  });

  it('lists the flow with its status, version and numbers; shows contacts, a profile with its timeline, and plugins', async () => {
    await page.getByRole('link', { name: 'Flows', exact: true }).click();
    const row = page.getByRole('table', { name: 'Flows' }).getByRole('row', { name: /Inbound lead routing/ });
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toMatch(/active.*v1/i);
    await screenshot(page, '09-flows-list');
    await page.getByRole('link', { name: 'Contacts', exact: true }).click();
    await page.getByRole('table', { name: 'Contacts' }).waitFor();
    await screenshot(page, '10-contacts');
    await page.getByRole('link', { name: 'lead0@acme.test' }).click();
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    await page.getByRole('region', { name: 'Timeline' }).getByText('lead.created').first().waitFor();
    await screenshot(page, '11-contact-profile');
    await page.getByRole('link', { name: 'Plugins', exact: true }).click();
    await page.getByText('No plugins installed').waitFor();
    await screenshot(page, '12-plugins');
  });

  it('runs a dry run of the draft and highlights its path', async () => {
    await page.goto(`${server.url}/flows/${flowId}`);
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page.getByRole('button', { name: 'Run test' }).click();
    await page.getByLabel('Test result').waitFor();
    await expect.poll(() => page.locator('.fnode.on-path').count(), { timeout: 10_000 }).toBe(3);
    expect(await page.locator('[data-testid="node-action_assign_owner"]').getAttribute('class')).toBeDefined();
    await expect(page.locator('[data-testid="node-action_assign_owner"].on-path').count()).resolves.toBe(1);
    await screenshot(page, '13-test-panel');
  });
});
