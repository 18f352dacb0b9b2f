import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { eventually } from '../../../engine/test/engine-harness.ts';
import { EXAMPLES_DIR, loadExamples } from '../../../engine/src/flow/examples.ts';
import { startMailServer, type MailServer } from '../../../engine/test/email/mail-server.ts';
import { describeE2e, endE2eTest, newPage, screenshot, signIn, startE2e, stopE2e, type E2eServer } from './harness.ts';

describeE2e('builder UI end to end: email outbox and settings', () => {
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let smtp: MailServer;

  beforeAll(async () => {
    ({ server, browser } = await startE2e());
    smtp = await startMailServer();
    page = await newPage(browser);
  }, 300_000);

  afterEach((ctx) => endE2eTest(ctx, page));

  afterAll(async () => {
    await stopE2e(browser, server);
    await smtp?.close();
  });

  it('a fresh start with no SMTP runs the nurture example and the message appears in the outbox page', async () => {
    // What the zero-setup start seeds: every example, published; no SMTP settings.
    await loadExamples(server.h.ctx, server.h.workspaceId);
    const { events } = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'nurture', 'sample-events.json'), 'utf8')) as { events: { type: string }[] };
    const signup = events.find((e) => e.type === 'signup.completed')!;
    expect((await server.h.call('POST', '/v1/events', signup)).status).toBe(202);

    await signIn(page, server, server.users.admin);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Outbox' }).click();
    await page.getByRole('heading', { name: 'Outbox', exact: true }).waitFor();
    await page.getByRole('alert', { name: 'Mail is not being delivered' }).waitFor();
    const table = page.getByRole('table', { name: 'Outbox messages' });
    await table.getByText('Welcome to Acme, Sam').waitFor({ timeout: 30_000 });
    await table.getByText('sam@brightpath.example').waitFor();
    const message = page.getByRole('region', { name: 'Message Welcome to Acme, Sam' });
    await message.waitFor();
    const frame = page.frameLocator('iframe[title="Message HTML"]');
    await frame.getByText('Thanks for signing up.').waitFor();
    await message.getByRole('tab', { name: 'Plain text' }).click();
    expect(await message.getByLabel('Message text').textContent()).toContain('Hi Sam, thanks for signing up.');
    await screenshot(page, 'email-outbox');
  });

  it('the settings page saves quiet hours, a frequency cap and tracking, sets SMTP and sends a test email', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
    const rules = page.getByRole('region', { name: 'Sending rules' });
    await rules.getByLabel(/Do not send marketing email at night/).check();
    await rules.getByLabel('Quiet hours from').fill('20:30');
    await rules.getByRole('button', { name: 'Add a cap' }).click();
    await rules.getByLabel('Cap 1 maximum').fill('2');
    await rules.getByLabel('Cap 1 days').fill('5');
    await rules.getByLabel(/Record opens and link clicks/).uncheck();
    await rules.getByRole('button', { name: 'Save sending rules' }).click();
    await rules.getByText('Sending rules saved.').waitFor();
    expect((await server.h.call('GET', '/v1/settings/email-policy')).body).toEqual({
      quiet_hours: { start: '20:30', end: '08:00' }, frequency_caps: [{ category: 'marketing', max: 2, within: 'P5D' }], tracking: false,
    });

    const delivery = page.getByRole('region', { name: 'Email delivery' });
    await delivery.getByLabel('SMTP server URL').fill(`smtp://127.0.0.1:${smtp.port}`);
    await delivery.getByLabel('Sender (From)').fill('Acme <hello@acme.test>');
    await delivery.getByRole('button', { name: 'Save SMTP settings' }).click();
    await delivery.getByText(/Sending through 127\.0\.0\.1/).waitFor();
    await page.getByRole('alert', { name: 'Mail is not being delivered' }).waitFor({ state: 'detached' });
    await delivery.getByLabel('Send a test email to').fill('olivia@example.com');
    await delivery.getByRole('button', { name: 'Send test email' }).click();
    await delivery.getByText('Test email accepted by 127.0.0.1.').waitFor();
    await eventually(async () => smtp.mails.length === 1);
    expect(smtp.mails[0]!.subject).toBe('Cairn test email');
    await screenshot(page, 'email-settings');
  });

  it('the email node shows a rendered preview for a chosen contact, as HTML and plain text', async () => {
    const flows = (await server.h.call('GET', '/v1/flows')).body.items as { id: string; name: string }[];
    const nurture = flows.find((f) => f.name === 'Welcome nurture')!;
    await page.goto(`${server.url}/flows/${nurture.id}`);
    await page.locator('[data-testid="node-welcome"] .fnode-head').click();
    const inspector = page.getByRole('complementary', { name: 'Inspector' });
    const preview = inspector.getByRole('group', { name: 'Email preview' });
    await preview.getByLabel('Contact (search by email)').fill('sam@brightpath.example');
    await preview.getByLabel('Preview contact').getByRole('option', { name: 'sam@brightpath.example' }).waitFor({ state: 'attached' });
    await preview.getByRole('button', { name: 'Show preview' }).click();
    await preview.getByText('Welcome to Acme, Sam').waitFor();
    await page.frameLocator('iframe[title="Email preview HTML"]').getByText('Thanks for signing up.').waitFor();
    await preview.getByRole('tab', { name: 'Plain text' }).click();
    expect(await preview.getByLabel('Email preview text').textContent()).toMatch(/^Hi Sam, thanks for signing up\. Get started: https:\/\/acme\.example\/start\?c=welcome\n\n--\nUnsubscribe/);
    await screenshot(page, 'email-preview');
  });
});
