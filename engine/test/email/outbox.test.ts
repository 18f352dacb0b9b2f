import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { emailFlow, startMailServer, type MailServer } from './mail-server.ts';

describe('development outbox: with no SMTP configured, mail is kept instead of failing', () => {
  let h: Harness;
  let smtp: MailServer;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    smtp = await startMailServer();
  });
  afterAll(async () => {
    await h?.close();
    await smtp?.close();
  });

  it('says mail is not being delivered, keeps the message in GET /v1/outbox, and the run completes', async () => {
    const settings = await h.call('GET', '/v1/settings/email');
    expect(settings.body).toMatchObject({ configured: false, delivery: 'outbox' });
    expect(settings.body.notice).toMatch(/not being delivered/);

    const flowId = await createAndPublish(h, emailFlow('welcome', 'signed_up', { subject: 'Welcome, {{ contact.properties.first_name }}', text: 'Your plan: {{ event.properties.plan }}', html: '<p>Hi <a href="https://acme.test/start">start here</a></p>' }));
    await h.call('POST', '/v1/events', { type: 'signed_up', contact: { email: 'ada@example.com', properties: { first_name: 'Ada' } }, properties: { plan: 'team' } });
    await h.engine.drain();

    const [run] = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items;
    expect(run.status).toBe('completed');
    const step = (await h.call('GET', `/v1/runs/${run.id}`)).body.steps.find((s: { node_id: string }) => s.node_id === 'mail');
    expect(step).toMatchObject({ status: 'completed', output: { transport: 'outbox', to: 'ada@example.com', accepted: true } });

    const outbox = await h.call('GET', '/v1/outbox');
    expect(outbox.status).toBe(200);
    expect(outbox.body.items).toHaveLength(1);
    const msg = outbox.body.items[0];
    expect(msg).toMatchObject({ to: 'ada@example.com', subject: 'Welcome, Ada', run_id: run.id, node_id: 'mail', category: 'marketing' });
    expect(msg.text).toContain('Your plan: team');
    expect(msg.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect((await h.call('GET', `/v1/outbox/${msg.id}`)).body.subject).toBe('Welcome, Ada');
    expect((await h.call('GET', '/v1/outbox/00000000-0000-7000-8000-000000000000')).status).toBe(404);
    expect(smtp.mails).toHaveLength(0);
  });

  it('delivers through SMTP once configured (and the test button sends), and goes back to the outbox when SMTP is removed', async () => {
    expect((await h.call('POST', '/v1/settings/email/test', { to: 'ops@example.com' })).status).toBe(409);
    await smtp.configure(h);
    expect((await h.call('GET', '/v1/settings/email')).body).toMatchObject({ configured: true, delivery: 'smtp', smtp_host: '127.0.0.1' });
    const test = await h.call('POST', '/v1/settings/email/test', { to: 'ops@example.com' });
    expect(test).toMatchObject({ status: 200, body: { sent: true, to: 'ops@example.com' } });
    expect(smtp.mails.map((m) => m.subject)).toEqual(['Cairn test email']);

    await h.call('POST', '/v1/events', { type: 'signed_up', contact: { email: 'bo@example.com', properties: { first_name: 'Bo' } }, properties: { plan: 'pro' } });
    await h.engine.drain();
    expect(smtp.mails.map((m) => m.subject)).toEqual(['Cairn test email', 'Welcome, Bo']);
    expect((await h.call('GET', '/v1/outbox')).body.items).toHaveLength(1);

    expect((await h.call('DELETE', '/v1/settings/email')).body).toMatchObject({ configured: false, delivery: 'outbox' });
    await h.call('POST', '/v1/events', { type: 'signed_up', contact: { email: 'cy@example.com', properties: { first_name: 'Cy' } }, properties: { plan: 'pro' } });
    await h.engine.drain();
    expect(smtp.mails).toHaveLength(2);
    expect((await h.call('GET', '/v1/outbox')).body.items.map((m: { to: string }) => m.to)).toEqual(['cy@example.com', 'ada@example.com']);
  });

  it('does not show another workspace its outbox', async () => {
    const { createWorkspace } = await import('../../src/crm/workspaces.ts');
    const { createApiKey } = await import('../../src/auth/api-keys.ts');
    const ws = await createWorkspace(h.t.db, { slug: 'other-ws' });
    const { key } = await createApiKey(h.t.db, { workspaceId: ws.id, role: 'admin' });
    expect((await h.call('GET', '/v1/outbox', undefined, key)).body.items).toEqual([]);
    const mine = (await h.call('GET', '/v1/outbox')).body.items[0];
    expect((await h.call('GET', `/v1/outbox/${mine.id}`, undefined, key)).status).toBe(404);
  });

  it('erasing a contact scrubs its messages (address, subject, bodies, headers) but keeps the rows that caps count', async () => {
    const ada = (await h.call('GET', '/v1/contacts?email=ada@example.com')).body.items[0].id;
    expect((await h.call('DELETE', `/v1/contacts/${ada}`)).status).toBe(204);
    const rows = await h.t.db('email_messages').where({ workspace_id: h.workspaceId, contact_id: ada });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'sent', to_address: null, subject: null, html: null, text: null, headers: null });
    expect(JSON.stringify((await h.call('GET', '/v1/outbox')).body)).not.toContain('ada@example.com');
  });
});
