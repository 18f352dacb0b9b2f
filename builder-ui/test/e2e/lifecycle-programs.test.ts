import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createAndPublish, eventually } from '../../../engine/test/engine-harness.ts';
import { describeE2e, endE2eTest, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

/** The lifecycle pages (owners, tasks, scoring, referral & loyalty) against a real engine in real Chromium. */
describeE2e('builder UI: lifecycle programs', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    const { h } = server;
    ids.ana = (await h.call('POST', '/v1/owners', { name: 'Ana', email: 'ana@example.com', capacity: 1 })).body.id;
    ids.ben = (await h.call('POST', '/v1/owners', { name: 'Ben', email: 'ben@example.com' })).body.id;
    await h.call('POST', '/v1/routing-pools', { key: 'sales', owner_ids: [ids.ana, ids.ben] });
    await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Route', settings: { reentry: 'always' },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.created' } },
        { id: 'assign', type: 'action.assign_owner', position: { x: 0, y: 180 }, config: { pool: 'sales', strategy: 'round_robin' } },
        { id: 'task', type: 'action.create_task', position: { x: 0, y: 360 }, config: { title: 'Call {{ contact.email }}' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'assign' }, { id: 'e2', source: 'assign', target: 'task' }],
    });
    await h.call('PUT', '/v1/scoring', { rules: [{ event: 'page.viewed', points: 10 }], qualified_at: 50 });
    await h.call('POST', '/v1/referral-programs', { key: 'friends', qualifying_event: 'order.completed', min_amount: 20, referrer_reward: { type: 'credit', amount: 10, currency: 'USD' }, referee_reward: { type: 'credit', amount: 10, currency: 'USD' }, review_period: 'P14D' });
    await h.call('POST', '/v1/loyalty-programs', { key: 'stars', earn: [{ event: 'order.completed', points_per_unit: 1, property: 'amount' }], tiers: [{ name: 'silver', min_points: 50 }] });
    await h.call('POST', '/v1/events', { type: 'lead.created', contact: { email: 'lead@example.com' } });
    await h.call('POST', '/v1/events', { type: 'page.viewed', contact: { email: 'lead@example.com' } });
    await h.call('POST', '/v1/events', { type: 'order.completed', contact: { email: 'lead@example.com' }, properties: { amount: 80 } });
    await eventually(async () => (await h.call('GET', '/v1/tasks?status=open')).body.items.length === 1);
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page, { closePage: true }));

  afterAll(() => stopE2e(browser, server));

  it('owners show their load against capacity; availability toggles; the inbox completes a task and releases capacity', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.getByRole('link', { name: 'Owners' }).click();
    await page.getByText('1 of 1 open').waitFor();
    await page.getByText('Ana → Ben').waitFor();
    await page.getByLabel('Ben available').uncheck();
    await eventually(async () => (await server.h.call('GET', `/v1/owners/${ids.ben}`)).body.available === false);
    await screenshot(page, '60-owners');

    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByLabel('Owner').selectOption({ label: 'Ana' });
    await page.getByText('Call lead@example.com').waitFor();
    await screenshot(page, '61-tasks-inbox');
    await page.getByRole('button', { name: 'Mark done' }).click();
    await page.getByText('Inbox zero').waitFor();
    expect((await server.h.call('GET', `/v1/owners/${ids.ana}`)).body.assigned_count).toBe(0);
  });

  it('scoring: the rules table saves a new rule and the preview shows a contact\'s breakdown', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.getByRole('link', { name: 'Scoring' }).click();
    await expect.poll(() => page.getByLabel('Rule 1 event').inputValue()).toBe('page.viewed');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Rule 2 event').fill('demo.requested');
    await page.getByLabel('Rule 2 points').fill('40');
    await page.getByLabel('Score halves every (decay, optional) amount').fill('14');
    await page.getByRole('button', { name: 'Save scoring' }).click();
    await page.getByText('Saved.').waitFor();
    const model = (await server.h.call('GET', '/v1/scoring')).body;
    expect(model).toMatchObject({ rules: [{ event: 'page.viewed', points: 10 }, { event: 'demo.requested', points: 40 }], decay: { half_life: 'P14D' }, qualified_at: 50 });
    await page.getByLabel('Contact email for the score preview').fill('lead@example.com');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('table', { name: 'Breakdown' }).getByText('page.viewed').waitFor();
    await screenshot(page, '62-scoring');
  });

  it('referral & loyalty: programs in plain words, a contact\'s code, balance and a redemption', async () => {
    page = await newPage(browser);
    await signIn(page, server, server.users.admin);
    await page.getByRole('link', { name: 'Referral & loyalty' }).click();
    await page.getByText(/First order.completed of at least 20 pays 10 USD to the referrer/).waitFor();
    await page.getByText(/pending for 14 days/).waitFor();
    await page.getByLabel('Contact email for the referral code').fill('lead@example.com');
    await page.getByRole('region', { name: 'Referral codes' }).getByRole('button', { name: 'Look up' }).click();
    await page.getByText(/^Code:/).waitFor();
    await page.getByLabel('Contact email for the loyalty balance').fill('lead@example.com');
    await page.getByRole('region', { name: 'Loyalty balances' }).getByRole('button', { name: 'Look up' }).click();
    await page.getByText(/80\s*points · tier\s*silver/).waitFor();
    await page.getByLabel('Points to redeem').fill('30');
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByText('Redeemed 30 points.').waitFor();
    await page.getByText(/50\s*points/).waitFor();
    await page.getByLabel('Points to redeem').fill('500');
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByText(/short of the 500 points/).waitFor();
    await screenshot(page, '63-programs');
  });
});
