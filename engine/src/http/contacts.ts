import {
  checkContactRef, getContact, isValidTimezone, listContacts, patchContact, toContact, upsertContacts,
  type ContactRow,
} from '../crm/contacts.ts';
import { checkProperties } from '../crm/contacts-properties.ts';
import { eraseContact } from '../crm/erasure.ts';
import { createSegmentMaintainer } from '../crm/segments/membership.ts';
import { getSegmentRow } from '../crm/segments/store.ts';
import { contactTimeline, isTimelineCursor } from '../crm/contacts-timeline.ts';
import { withTx } from '../db/index.ts';
import { invalid, notFound, type ProblemItem } from '../errors.ts';
import { idempotent, isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import { noContent } from './openapi.ts';
import type { RouteGroup } from './route-groups.ts';
import { email, idempotencyHeaders, identityRule, page as pageSchema, propertiesObject, ref } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;

const upsertBody = {
  type: 'object',
  additionalProperties: false,
  ...identityRule,
  properties: {
    external_id: { type: 'string', minLength: 1, maxLength: 255 },
    email,
    properties: propertiesObject,
    timezone: { type: 'string', maxLength: 64, description: 'an IANA time zone name such as Europe/Paris' },
  },
} as const;

const patchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    external_id: { type: ['string', 'null'], minLength: 1, maxLength: 255 },
    email: { ...email, type: ['string', 'null'] },
    properties: { ...propertiesObject, type: ['object', 'null'], description: 'merged as a JSON merge patch: null deletes a key' },
    timezone: { type: ['string', 'null'], maxLength: 64 },
    tags: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 100 } },
    lifecycle_stage: { type: ['string', 'null'], minLength: 1, maxLength: 100 },
  },
} as const;

const timelineSchema = {
  type: 'object', required: ['items', 'next_cursor'],
  properties: {
    items: { type: 'array', items: { type: 'object', required: ['kind', 'at'], additionalProperties: true, properties: { kind: { enum: ['event', 'step'] }, at: { type: 'string', format: 'date-time' } } } },
    next_cursor: { type: ['string', 'null'] },
  },
} as const;

function refuse(problems: ProblemItem[]): void {
  if (problems.length > 0) throw invalid(`the contact is not valid: ${problems[0]!.path || '(body)'} ${problems[0]!.message}`, problems);
}

/** Contacts: upsert, read, list, merge-patch, erase, timeline (CONTRACT.md §Contacts). */
export const contactsRoutes: RouteGroup = async (app, { ctx, engine }) => {
  // Segment membership follows every contact change, in the same transaction.
  const segments = engine?.segments ?? createSegmentMaintainer({ clock: ctx.clock });
  app.post('/contacts', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'upsertContact', tags: ['contacts'], summary: 'Upsert a contact (201 created, 200 updated)',
      description: 'Matched by external_id, else by case-insensitive email; properties are merged (null deletes a key).',
      headers: idempotencyHeaders, body: upsertBody, response: { 200: ref('Contact'), 201: ref('Contact') },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const ref = request.body;
    refuse([...checkContactRef(ref, ''), ...(ref.properties ? checkProperties(ref.properties, '/properties') : [])]);
    const outcome = await idempotent(ctx, request, async (tx) => {
      const now = ctx.clock.now();
      const [r] = await upsertContacts(tx, workspaceId, [ref], now, () => '');
      await segments.refresh(tx, workspaceId, [r!.id], now);
      const row = await getContact(tx, workspaceId, r!.id);
      return { status: r!.created ? 201 : 200, body: toContact(row!) };
    });
    return reply.code(outcome.status as 200).send(outcome.body);
  });

  app.get('/contacts', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'listContacts', tags: ['contacts'], summary: 'List contacts',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          ...pageQuery,
          email: { type: 'string', maxLength: 320 }, external_id: { type: 'string', maxLength: 255 },
          tag: { type: 'string', maxLength: 100 }, segment: { type: 'string', maxLength: 200 },
          q: { type: 'string', minLength: 1, maxLength: 320 },
        },
      },
      response: { 200: pageSchema('Contact') },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const q = request.query;
    const segmentId = q.segment === undefined ? undefined : (await getSegmentRow(ctx.db, workspaceId, q.segment)).id;
    const after = parseCursor(q.cursor, isIdCursor);
    const rows = await listContacts(ctx.db, workspaceId, { ...q, segmentId, after, limit: q.limit });
    return page(rows, q.limit, (r: ContactRow) => r.id, toContact);
  });

  app.get('/contacts/:id', {
    config: { area: 'contacts' },
    schema: { operationId: 'getContact', tags: ['contacts'], summary: 'Get a contact', params: idParams, response: { 200: ref('Contact') } },
  }, async (request) => {
    const id = requireUuid(request.params.id, 'contact');
    const row = await getContact(ctx.db, request.auth!.workspaceId, id);
    if (!row) throw notFound('contact');
    return toContact(row);
  });

  app.patch('/contacts/:id', {
    config: { area: 'contacts' },
    schema: { operationId: 'patchContact', tags: ['contacts'], summary: 'Change a contact (JSON merge patch)', params: idParams, body: patchBody, response: { 200: ref('Contact') } },
  }, async (request) => {
    const id = requireUuid(request.params.id, 'contact');
    const body = request.body;
    const problems: ProblemItem[] = [];
    if (typeof body.timezone === 'string' && !isValidTimezone(body.timezone)) {
      problems.push({ path: '/timezone', message: `"${body.timezone}" is not an IANA time zone name such as "Europe/Paris"` });
    }
    if (body.properties) problems.push(...checkProperties(body.properties, '/properties'));
    refuse(problems);
    const row = await withTx(ctx.db, async (tx) => {
      const now = ctx.clock.now();
      const updated = await patchContact(tx, request.auth!.workspaceId, id, body, now);
      if (updated) await segments.refresh(tx, updated.workspace_id, [updated.id], now);
      return updated;
    });
    if (!row) throw notFound('contact');
    return toContact(row);
  });

  app.delete('/contacts/:id', {
    config: { area: 'contacts' },
    schema: { operationId: 'eraseContact', tags: ['contacts'], summary: 'Erase a contact: personal data removed, runs cancelled, counts kept', params: idParams, response: { 204: noContent } },
  }, async (request, reply) => {
    const id = requireUuid(request.params.id, 'contact');
    const erased = await withTx(ctx.db, (tx) => eraseContact(tx, request.auth!.workspaceId, id, ctx.clock.now()));
    if (!erased) throw notFound('contact');
    return reply.code(204).send();
  });

  app.get('/contacts/:id/timeline', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'getContactTimeline', tags: ['contacts'], summary: "A contact's events and run steps, newest first", params: idParams,
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery } },
      response: { 200: timelineSchema },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const id = requireUuid(request.params.id, 'contact');
    const q = request.query;
    const before = parseCursor(q.cursor, isTimelineCursor);
    if (!(await getContact(ctx.db, workspaceId, id))) throw notFound('contact');
    return contactTimeline(ctx.db, workspaceId, id, { before, limit: q.limit });
  });
};
