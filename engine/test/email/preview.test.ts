import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../engine-harness.ts';
import { createWorkspace } from '../../src/crm/workspaces.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';

describe('email preview for a chosen contact', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
  });
  afterAll(async () => h?.close());

  it('renders subject, HTML and text for the contact, with the unsubscribe footer a send adds', async () => {
    const ada = (await h.call('POST', '/v1/contacts', { email: 'ada@example.com', properties: { first_name: 'Ada', plan: 'Pro' } })).body.id;
    const config = { subject: 'Hi {{ contact.properties.first_name }}', html: '<p>Your {{ contact.properties.plan }} plan. <a href="https://acme.test/x">Go</a></p>', text: 'Your {{ contact.properties.plan }} plan.' };
    const res = await h.call('POST', '/v1/email/preview', { contact_id: ada, config });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ to: 'ada@example.com', subject: 'Hi Ada', category: 'marketing' });
    expect(res.body.html).toContain('<p>Your Pro plan. <a href="https://acme.test/x">Go</a></p>'); // links untracked in a preview
    expect(res.body.html).toContain('/v1/email/preferences/');
    expect(res.body.text).toMatch(/^Your Pro plan\.\n\n--\nUnsubscribe or change your email preferences: /);

    const receipt = await h.call('POST', '/v1/email/preview', { contact_id: ada, config: { ...config, category: 'transactional' } });
    expect(receipt.body.text).toBe('Your Pro plan.');
  });

  it('answers 404 for an unknown or foreign contact and 400 for a bad body', async () => {
    const ws = await createWorkspace(h.t.db, { slug: 'preview-other' });
    const { key } = await createApiKey(h.t.db, { workspaceId: ws.id, role: 'admin' });
    const theirs = (await h.call('POST', '/v1/contacts', { email: 'zed@example.com' }, key)).body.id;
    expect((await h.call('POST', '/v1/email/preview', { contact_id: theirs, config: { subject: 'x' } })).status).toBe(404);
    expect((await h.call('POST', '/v1/email/preview', { contact_id: 'nope', config: { subject: 'x' } })).status).toBe(404);
    const bad = await h.call('POST', '/v1/email/preview', { contact_id: theirs, config: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('/config/subject');
  });
});
