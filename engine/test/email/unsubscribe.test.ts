import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish } from '../engine-harness.ts';
import { emailFlow, pathOf, startMailHarness, type MailHarness, type MailServer } from './mail-server.ts';

/** A raw header of a received message (mailparser folds List-* headers into a structure). */
const header = (mail: ParsedMail, name: string) => mail.headerLines.find((l) => l.key === name)?.line.replace(/^[^:]+:\s*/, '').replace(/\r?\n\s+/g, '');
const unsubscribeUrl = (mail: ParsedMail) => /<([^>]+)>/.exec(header(mail, 'list-unsubscribe')!)![1]!;

describe('unsubscribe, preferences and bounces', () => {
  let h: MailHarness;
  let smtp: MailServer;
  beforeAll(async () => {
    h = await startMailHarness();
    smtp = h.smtp;
    await createAndPublish(h, emailFlow('news', 'news', { subject: 'News', text: 'hello', html: '<p>hello</p>' }));
    await createAndPublish(h, emailFlow('tips', 'tips', { subject: 'Tips', text: 'tip', category: 'tips' }));
    await createAndPublish(h, emailFlow('receipt', 'paid', { subject: 'Receipt', text: 'thanks', category: 'transactional' }));
  });
  afterAll(() => h?.close());

  const send = async (type: string, email: string) => {
    const before = smtp.mails.length;
    await h.call('POST', '/v1/events', { type, contact: { email } });
    await h.engine.drain();
    return smtp.mails.slice(before);
  };
  const lastStep = async (email: string) => {
    const contact = (await h.call('GET', `/v1/contacts?email=${email}`)).body.items[0];
    const runs = (await h.call('GET', `/v1/runs?contact_id=${contact.id}`)).body.items;
    const detail = (await h.call('GET', `/v1/runs/${runs[0].id}`)).body;
    return detail.steps.find((s: { node_id: string }) => s.node_id === 'mail');
  };

  it('one-click unsubscribe via the List-Unsubscribe URL suppresses the contact; later marketing is skipped, transactional still goes', async () => {
    const [mail] = await send('news', 'leo@example.com');
    expect(header(mail!, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const url = unsubscribeUrl(mail!);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:3000\/v1\/email\/unsubscribe\//);
    expect(mail!.text).toContain('/v1/email/preferences/');
    expect(mail!.html).toContain('/v1/email/preferences/');

    // A GET (link scanner) does not unsubscribe.
    const get = await h.app.inject({ method: 'GET', url: pathOf(url) });
    expect(get.statusCode).toBe(200);
    expect(get.headers['content-type']).toMatch(/text\/html/);
    expect(await send('news', 'leo@example.com')).toHaveLength(1);

    // The mail client's one-click POST (RFC 8058), unauthenticated.
    const post = await h.app.inject({ method: 'POST', url: pathOf(url), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(post.statusCode).toBe(200);
    expect(await send('news', 'leo@example.com')).toHaveLength(0);
    expect(await lastStep('leo@example.com')).toMatchObject({ status: 'skipped', output: { skipped: true, suppressed: true, reason: 'the contact unsubscribed from all email' } });
    expect(await send('tips', 'leo@example.com')).toHaveLength(0);
    expect((await send('paid', 'leo@example.com')).map((m) => m.subject)).toEqual(['Receipt']);

    const contact = (await h.call('GET', '/v1/contacts?email=leo@example.com')).body.items[0];
    const timeline = await h.t.db('events').where({ workspace_id: h.workspaceId, contact_id: contact.id, type: 'email.unsubscribed' });
    expect(timeline).toHaveLength(1);
  });

  it('a tampered unsubscribe token is a 400 and changes nothing', async () => {
    const [mail] = await send('news', 'tam@example.com');
    const url = unsubscribeUrl(mail!);
    const [body, sig] = pathOf(url).split('/').at(-1)!.split('.');
    const other = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), c: '00000000-0000-7000-8000-000000000000' })).toString('base64url');
    for (const token of [`${other}.${sig}`, `${body}.AAAA${sig!.slice(4)}`, 'garbage']) {
      const res = await h.app.inject({ method: 'POST', url: `/v1/email/unsubscribe/${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    expect(await send('news', 'tam@example.com')).toHaveLength(1);
  });

  it('the preference page lists the categories and saving it changes them', async () => {
    await send('news', 'pia@example.com');
    const [tip] = await send('tips', 'pia@example.com');
    const prefs = /(http:\/\/\S+\/v1\/email\/preferences\/\S+)/.exec(tip!.text!)![1]!;
    const page = await h.app.inject({ method: 'GET', url: pathOf(prefs) });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('value="marketing" checked');
    expect(page.body).toContain('value="tips" checked');

    // Keep marketing, drop tips.
    const saved = await h.app.inject({ method: 'POST', url: pathOf(prefs), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'subscribed=marketing' });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain('Saved.');
    expect(saved.body).toContain('value="marketing" checked');
    expect(saved.body).not.toContain('value="tips" checked');
    expect(await send('tips', 'pia@example.com')).toHaveLength(0);
    expect(await lastStep('pia@example.com')).toMatchObject({ status: 'skipped', output: { reason: 'the contact unsubscribed from tips email' } });
    expect(await send('news', 'pia@example.com')).toHaveLength(1);

    // Tick tips again.
    await h.app.inject({ method: 'POST', url: pathOf(prefs), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'subscribed=marketing&subscribed=tips' });
    expect(await send('tips', 'pia@example.com')).toHaveLength(1);
  });

  it('a hard bounce from the bounce webhook suppresses every message; a soft one only records it', async () => {
    expect(await send('news', 'dead@example.com')).toHaveLength(1);
    const soft = await h.call('POST', '/v1/email/bounces', { email: 'DEAD@example.com', type: 'soft', reason: 'mailbox full' });
    expect(soft).toMatchObject({ status: 202, body: { suppressed: false } });
    expect(await send('news', 'dead@example.com')).toHaveLength(1);
    const hard = await h.call('POST', '/v1/email/bounces', { email: 'dead@example.com', type: 'hard', reason: '550 no such user' });
    expect(hard).toMatchObject({ status: 202, body: { suppressed: true } });
    expect(await send('news', 'dead@example.com')).toHaveLength(0);
    expect(await lastStep('dead@example.com')).toMatchObject({ status: 'skipped', output: { reason: 'the address hard-bounced' } });
    expect(await send('paid', 'dead@example.com')).toHaveLength(0);

    expect(await send('news', 'angry@example.com')).toHaveLength(1);
    await h.call('POST', '/v1/email/bounces', { email: 'angry@example.com', type: 'complaint' });
    expect(await send('news', 'angry@example.com')).toHaveLength(0);
    expect(await send('paid', 'angry@example.com')).toHaveLength(1);

    const unknown = await h.call('POST', '/v1/email/bounces', { email: 'nobody@example.com', type: 'hard' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe('/email');
    const bad = await h.call('POST', '/v1/email/bounces', { email: 'dead@example.com', type: 'bogus' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('/type');
  });
});
