import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { linkKey, signLink, verifyLink, escapeHtml } from '../channels/email-links.ts';
import { composeMessage } from '../channels/email.ts';
import { getContact, toContact } from '../crm/contacts.ts';
import { compileTemplates } from '../flow/templates.ts';
import { ALL, receivedCategories, setUnsubscribed, suppress, unsubscribedCategories } from '../channels/email-suppression.ts';
import { DEFAULT_CATEGORY, TRANSACTIONAL } from '../channels/email-policy.ts';
import { ingestEvents } from '../crm/events.ts';
import { withTx } from '../db/index.ts';
import { CairnError, invalid, notFound } from '../errors.ts';
import { isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { email, page as pageSchema, ref } from './schemas.ts';

const htmlPage = { 200: { description: 'an HTML page', content: { 'text/html': { schema: { type: 'string' } } } } } as const;

const tokenParams = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 8000 } } } as const;
const badLink = () => invalid('this link is not valid: it was altered or is not a link from this Cairn', [{ path: '/token', message: 'signature does not match' }]);

// A transparent 1×1 GIF.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

interface OutboxRow {
  id: string; run_id: string; node_id: string; contact_id: string; category: string; to_address: string; from_address: string;
  subject: string; html: string | null; text: string | null; headers: Record<string, string>; sent_at: Date;
}
const outboxItem = (r: OutboxRow) => ({
  id: r.id, run_id: r.run_id, node_id: r.node_id, contact_id: r.contact_id, category: r.category, to: r.to_address, from: r.from_address,
  subject: r.subject, html: r.html, text: r.text, headers: r.headers, sent_at: r.sent_at.toISOString(),
});

/**
 * Email beyond sending: the development outbox (admin API), the bounce webhook, and the public, signed links a
 * message carries — one-click unsubscribe, the preference page, the open pixel and click redirects. A link whose
 * signature does not match is a 400: nothing is recorded and nobody is redirected.
 */
export const emailRoutes: RouteGroup = async (app, { ctx, onEventsIngested }) => {
  const key = linkKey(ctx.secretKey);
  const record = async (workspaceId: string, contactId: string, type: string, properties: Record<string, string>, idempotencyKey?: string) => {
    await withTx(ctx.db, (tx) => ingestEvents(tx, workspaceId, [{ type, contact: {}, contactId, properties, idempotency_key: idempotencyKey, source: 'email' }], { onEventsIngested }, { now: ctx.clock.now() }));
  };

  // Mail clients post `List-Unsubscribe=One-Click` form-encoded (RFC 8058); the preference page posts its form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const form: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(body as string)) (form[k] ??= []).push(v);
    done(null, form);
  });

  app.get('/outbox', {
    config: { area: 'workspace', adminOnly: true },
    schema: {
      operationId: 'listOutbox', tags: ['email'], summary: 'Messages kept in the development outbox (no SMTP configured), newest first',
      querystring: { type: 'object', properties: { ...pageQuery, contact_id: { type: 'string', maxLength: 100 } } },
      response: { 200: pageSchema('OutboxMessage') },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const q = request.query;
    const after = parseCursor(q.cursor, isIdCursor);
    const rows = await ctx.db('email_messages')
      .where({ workspace_id: workspaceId, transport: 'outbox' })
      .modify((b) => {
        if (after) b.where('id', '<', after);
        if (q.contact_id) b.where('contact_id', requireUuid(q.contact_id, 'contact'));
      })
      .orderBy('id', 'desc').limit(q.limit + 1)
      .select<OutboxRow[]>('id', 'run_id', 'node_id', 'contact_id', 'category', 'to_address', 'from_address', 'subject', 'html', 'text', 'headers', 'sent_at');
    return page(rows, q.limit, (r) => r.id, outboxItem);
  });

  app.get('/outbox/:id', { config: { area: 'workspace', adminOnly: true }, schema: { operationId: 'getOutboxMessage', tags: ['email'], summary: 'One message of the development outbox', params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } }, response: { 200: ref('OutboxMessage') } } }, async (request) => {
    const id = requireUuid(request.params.id, 'outbox message');
    const row = await ctx.db('email_messages').where({ workspace_id: request.auth!.workspaceId, id, transport: 'outbox' }).first<OutboxRow | undefined>();
    if (!row) throw notFound('outbox message');
    return outboxItem(row);
  });

  // The email node editor's preview: the node's config rendered for one contact (no trigger event: `event` is
  // empty), with the unsubscribe footer a real send would add; links are shown untracked.
  app.post('/email/preview', {
    config: { area: 'flows' },
    schema: {
      operationId: 'previewEmail', tags: ['email'], summary: 'Render an action.send_email config for a contact',
      response: {
        200: {
          type: 'object', required: ['to', 'subject', 'html', 'text', 'category'],
          properties: { to: { type: ['string', 'null'] }, subject: { type: 'string' }, html: { type: ['string', 'null'] }, text: { type: ['string', 'null'] }, category: { type: 'string' } },
        },
      },
      body: {
        type: 'object', additionalProperties: false, required: ['config', 'contact_id'],
        properties: {
          contact_id: { type: 'string', maxLength: 64 },
          config: {
            type: 'object', additionalProperties: true, required: ['subject'],
            properties: { subject: { type: 'string', maxLength: 500 }, html: { type: 'string', maxLength: 200_000 }, text: { type: 'string', maxLength: 200_000 }, from: { type: 'string', maxLength: 320 }, category: { type: 'string', maxLength: 64 } },
          },
        },
      },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const body = request.body;
    const row = await getContact(ctx.db, workspaceId, requireUuid(body.contact_id, 'contact'));
    if (!row) throw notFound('contact');
    const contact = toContact(row);
    const c = { subject: body.config.subject, html: body.config.html, text: body.config.text, from: body.config.from, category: body.config.category };
    let rendered: typeof c;
    try {
      rendered = (await compileTemplates(c)({ contact: contact as unknown as Record<string, unknown>, event: null, run: {} })) as typeof c;
    } catch (err) {
      throw new CairnError('CAIRN_ERR_UNPROCESSABLE', `the template does not render for this contact: ${(err as Error).message}`, { cause: err, errors: [{ path: '/config', message: (err as Error).message }] });
    }
    const category = c.category ?? DEFAULT_CATEGORY;
    const message = composeMessage(rendered, {
      to: contact.email ?? '', from: rendered.from ?? '', messageId: '', idempotencyKey: 'preview', category,
      links: category === TRANSACTIONAL ? null : {
        sign: (claim) => `${ctx.config.publicUrl}/v1/email/unsubscribe/${signLink(key, claim)}`,
        preferences: `${ctx.config.publicUrl}/v1/email/preferences/${signLink(key, { k: 'u', w: workspaceId, c: contact.id })}`,
        workspaceId, contactId: contact.id, runId: 'preview', nodeId: 'preview', tracking: false,
      },
    });
    return { to: contact.email, subject: message.subject, html: message.html ?? null, text: message.text ?? null, category };
  });

  app.post('/email/bounces', {
    config: { area: 'events' },
    schema: {
      operationId: 'reportBounce', tags: ['email'], summary: 'Report a bounce or complaint from your mail provider; hard bounces and complaints suppress the contact',
      response: { 202: { type: 'object', required: ['contact_id', 'suppressed'], properties: { contact_id: { type: 'string', format: 'uuid' }, suppressed: { type: 'boolean' } } } },
      body: {
        type: 'object', additionalProperties: false, required: ['email', 'type'],
        properties: {
          email,
          type: { enum: ['hard', 'soft', 'complaint'] },
          reason: { type: 'string', maxLength: 2000 },
        },
      },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const body = request.body;
    const contact = await ctx.db('contacts').where({ workspace_id: workspaceId }).whereRaw('lower(email) = lower(?)', [body.email]).first<{ id: string } | undefined>('id');
    if (!contact) throw invalid(`no contact has the email ${body.email}`, [{ path: '/email', message: 'no contact with this email' }]);
    const now = ctx.clock.now();
    if (body.type !== 'soft') await suppress(ctx.db, workspaceId, contact.id, ALL, body.type === 'hard' ? 'bounced' : 'complained', now);
    await record(workspaceId, contact.id, body.type === 'complaint' ? 'email.complained' : 'email.bounced', { type: body.type, ...(body.reason ? { reason: body.reason } : {}) });
    return reply.code(202).send({ contact_id: contact.id, suppressed: body.type !== 'soft' });
  });

  // ---- public, signed links ---------------------------------------------------------------------------------

  app.post('/email/unsubscribe/:token', { config: { public: true }, schema: { operationId: 'unsubscribeOneClick', tags: ['email'], summary: 'One-click unsubscribe (RFC 8058)', params: tokenParams, response: { 200: { description: 'done', content: { 'text/plain': { schema: { type: 'string' } } } } } } }, async (request, reply) => {
    const claim = verifyLink(key, request.params.token, 'u');
    if (!claim) throw badLink();
    await setUnsubscribed(ctx.db, claim.w, claim.c, [ALL], ctx.clock.now());
    await record(claim.w, claim.c, 'email.unsubscribed', { category: ALL });
    return reply.code(200).type('text/plain; charset=utf-8').send('You are unsubscribed.');
  });

  // A GET of the List-Unsubscribe URL (a person clicking it, or a link scanner) never unsubscribes: it shows the page.
  app.get('/email/unsubscribe/:token', { config: { public: true }, schema: { operationId: 'showUnsubscribePage', tags: ['email'], summary: 'The unsubscribe link opened in a browser: the preference page (a GET never unsubscribes)', params: tokenParams, response: htmlPage } }, async (request, reply) => {
    const claim = verifyLink(key, request.params.token, 'u');
    if (!claim) throw badLink();
    return preferencePage(reply, claim, false);
  });

  app.get('/email/preferences/:token', { config: { public: true }, schema: { operationId: 'showPreferencePage', tags: ['email'], summary: 'Hosted email preference page', params: tokenParams, response: htmlPage } }, async (request, reply) => {
    const claim = verifyLink(key, request.params.token, 'u');
    if (!claim) throw badLink();
    return preferencePage(reply, claim, false);
  });

  app.post('/email/preferences/:token', {
    config: { public: true },
    schema: {
      operationId: 'savePreferences', tags: ['email'], summary: 'Save the preference page form (application/x-www-form-urlencoded)', params: tokenParams, response: htmlPage,
    },
  }, async (request, reply) => {
    const claim = verifyLink(key, request.params.token, 'u');
    if (!claim) throw badLink();
    const form = (request.body ?? {}) as Record<string, string[] | undefined>;
    if (typeof form !== 'object' || Array.isArray(form)) throw invalid('expected a form', [{ path: '', message: 'not a form' }]);
    const known = await categoriesOf(claim.w, claim.c);
    const keep = new Set((form.subscribed ?? []).filter((c) => known.includes(c)));
    const off = form.all?.includes('off') ? [ALL] : known.filter((c) => !keep.has(c));
    await setUnsubscribed(ctx.db, claim.w, claim.c, off, ctx.clock.now());
    await record(claim.w, claim.c, 'email.preferences_changed', { unsubscribed: off.join(',') });
    return preferencePage(reply, claim, true);
  });

  app.get('/email/open/:token', {
    config: { public: true },
    schema: { operationId: 'trackOpen', tags: ['email'], summary: 'Open-tracking pixel (records email.opened once)', params: tokenParams, response: { 200: { description: 'a 1×1 GIF', content: { 'image/gif': { schema: { type: 'string', contentMediaType: 'image/gif' } } } } } },
  }, async (request, reply) => {
    const claim = verifyLink(key, request.params.token.replace(/\.gif$/, ''), 'o');
    if (!claim) throw badLink();
    // The first open of a message counts; reloads are the same open.
    await record(claim.w, claim.c, 'email.opened', { run_id: claim.r, node_id: claim.n }, `email.opened:${claim.r}:${claim.n}`);
    return reply.header('cache-control', 'no-store').type('image/gif').send(PIXEL);
  });

  app.get('/email/click/:token', {
    config: { public: true },
    schema: {
      operationId: 'trackClick', tags: ['email'], summary: 'Tracked link: records email.clicked and redirects to the signed URL', params: tokenParams,
      response: { 302: { description: 'to the link\'s URL', headers: { Location: { description: 'the signed target URL', type: 'string' } } } },
    },
  }, async (request, reply) => {
    const claim = verifyLink(key, request.params.token, 'c');
    // Only a URL signed into the message at send time is ever a redirect target (no open redirect).
    if (!claim || !/^https?:\/\//i.test(claim.u)) throw badLink();
    const linkId = createHash('sha256').update(claim.u).digest('hex').slice(0, 16);
    await record(claim.w, claim.c, 'email.clicked', { run_id: claim.r, node_id: claim.n, url: claim.u }, `email.clicked:${claim.r}:${claim.n}:${linkId}`);
    return reply.header('cache-control', 'no-store').redirect(claim.u, 302);
  });

  async function categoriesOf(workspaceId: string, contactId: string): Promise<string[]> {
    return [...new Set([DEFAULT_CATEGORY, ...(await receivedCategories(ctx.db, workspaceId, contactId))])].sort();
  }

  async function preferencePage(reply: FastifyReply, claim: { w: string; c: string }, saved: boolean) {
    const [categories, off] = await Promise.all([categoriesOf(claim.w, claim.c), unsubscribedCategories(ctx.db, claim.w, claim.c)]);
    const all = off.includes(ALL);
    const boxes = categories.map((c) => `<label><input type="checkbox" name="subscribed" value="${escapeHtml(c)}"${!all && !off.includes(c) ? ' checked' : ''}> ${escapeHtml(c)}</label><br>`).join('\n');
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Email preferences</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem">
<h1>Email preferences</h1>
${saved ? '<p role="status"><strong>Saved.</strong></p>' : ''}
<p>${all ? 'You are unsubscribed from all email except messages about your account.' : 'Choose what you want to receive.'}</p>
<form method="post">
${boxes}
<p><button type="submit">Save preferences</button></p>
</form>
<form method="post"><input type="hidden" name="all" value="off"><button type="submit">Unsubscribe from all</button></form>
</body></html>`;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  }
};
