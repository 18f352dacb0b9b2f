import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish } from '../engine-harness.ts';
import { emailFlow, pathOf, startMailHarness, type MailHarness, type MailServer } from './mail-server.ts';

const HTML = '<html><body><p>Read <a href="https://acme.test/blog?a=1&amp;b=2">the post</a> or <a class="btn" href=\'https://acme.test/pricing\'>see pricing</a>.</p></body></html>';

describe('open and click tracking', () => {
  let h: MailHarness;
  let smtp: MailServer;
  let flowId: string;
  beforeAll(async () => {
    h = await startMailHarness();
    smtp = h.smtp;
    flowId = await createAndPublish(h, emailFlow('digest', 'digest', { subject: 'Digest', html: HTML }));
    await createAndPublish(h, emailFlow('receipt', 'paid', { subject: 'Receipt', html: HTML, category: 'transactional' }));
  });
  afterAll(() => h?.close());

  const eventsOf = async (type: string) => h.t.db('events').where({ workspace_id: h.workspaceId, type }).orderBy('seq').select('contact_id', 'properties');
  const links = (html: string) => [...html.matchAll(/href=(["'])([^"']+)\1/g)].map((m) => m[2]!.replace(/&amp;/g, '&'));

  it('a click on a tracked link records email.clicked for the right run and node and redirects to the original URL', async () => {
    await h.call('POST', '/v1/events', { type: 'digest', contact: { email: 'kim@example.com' } });
    await h.engine.drain();
    const html = smtp.mails[0]!.html as string;
    const [blog, pricing, prefs] = links(html);
    expect(blog).toMatch(/^http:\/\/127\.0\.0\.1:3000\/v1\/email\/click\//);
    expect(pricing).toMatch(/\/v1\/email\/click\//);
    expect(prefs).toMatch(/\/v1\/email\/preferences\//); // the footer link is not tracked
    expect(html).not.toContain('https://acme.test/');
    const [run] = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items;

    const res = await h.app.inject({ method: 'GET', url: pathOf(blog!) });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://acme.test/blog?a=1&b=2');
    await h.app.inject({ method: 'GET', url: pathOf(pricing!) });
    await h.app.inject({ method: 'GET', url: pathOf(blog!) }); // a second click on the same link is the same click
    const clicks = await eventsOf('email.clicked');
    expect(clicks.map((e) => e.properties)).toEqual([
      { run_id: run.id, node_id: 'mail', url: 'https://acme.test/blog?a=1&b=2' },
      { run_id: run.id, node_id: 'mail', url: 'https://acme.test/pricing' },
    ]);
    expect(clicks[0].contact_id).toBe(run.contact_id);

    const pixel = /<img src="([^"]+\/v1\/email\/open\/[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    const open = await h.app.inject({ method: 'GET', url: pathOf(pixel) });
    expect(open.statusCode).toBe(200);
    expect(open.headers['content-type']).toBe('image/gif');
    await h.app.inject({ method: 'GET', url: pathOf(pixel) });
    expect((await eventsOf('email.opened')).map((e) => e.properties)).toEqual([{ run_id: run.id, node_id: 'mail' }]);
  });

  it('a tampered link gets 400 and never a redirect elsewhere', async () => {
    const [blog] = links(smtp.mails[0]!.html as string);
    const token = pathOf(blog!).split('/').at(-1)!;
    const [body, sig] = token.split('.');
    const claim = JSON.parse(Buffer.from(body!, 'base64url').toString());
    const evil = Buffer.from(JSON.stringify({ ...claim, u: 'https://evil.test/phish' })).toString('base64url');
    const before = (await eventsOf('email.clicked')).length;
    for (const t of [`${evil}.${sig}`, `${body}.${sig!.slice(0, -2)}AA`, body!, `${body}.`, 'x.y']) {
      const res = await h.app.inject({ method: 'GET', url: `/v1/email/click/${t}` });
      expect(res.statusCode).toBe(400);
      expect(res.headers.location).toBeUndefined();
      expect(JSON.parse(res.body)).toMatchObject({ code: 'CAIRN_ERR_VALIDATION', errors: [{ path: '/token' }] });
    }
    // An unsubscribe token is not a click token.
    const unsub = /\/v1\/email\/preferences\/([^"]+)/.exec(smtp.mails[0]!.html as string)![1]!;
    expect((await h.app.inject({ method: 'GET', url: `/v1/email/click/${unsub}` })).statusCode).toBe(400);
    expect((await eventsOf('email.clicked')).length).toBe(before);
  });

  it('transactional mail and a workspace with tracking off carry plain links and no pixel', async () => {
    await h.call('POST', '/v1/events', { type: 'paid', contact: { email: 'kim@example.com' } });
    await h.engine.drain();
    const receipt = smtp.mails.at(-1)!;
    expect(receipt.subject).toBe('Receipt');
    expect(links(receipt.html as string)).toEqual(['https://acme.test/blog?a=1&b=2', 'https://acme.test/pricing']);
    expect(receipt.html).not.toContain('/v1/email/open/');
    expect(receipt.headers.has('list-unsubscribe')).toBe(false);

    expect((await h.call('PUT', '/v1/settings/email-policy', { tracking: false })).body.tracking).toBe(false);
    await h.call('POST', '/v1/events', { type: 'digest', contact: { email: 'lou@example.com' } });
    await h.engine.drain();
    const plain = smtp.mails.at(-1)!;
    expect(links(plain.html as string).slice(0, 2)).toEqual(['https://acme.test/blog?a=1&b=2', 'https://acme.test/pricing']);
    expect(plain.html).not.toContain('/v1/email/open/');
    expect(plain.html).toContain('/v1/email/preferences/'); // still unsubscribable
  });
});
