import {
  checkContactRef, getContact, isValidTimezone, listContacts, patchContact, toContact, upsertContacts,
  type ContactPatch, type ContactRef, type ContactRow,
} from '../crm/contacts.ts';
import { checkProperties } from '../crm/contacts-properties.ts';
import { eraseContact } from '../crm/erasure.ts';
import { createSegmentMaintainer } from '../crm/segments/membership.ts';
import { getSegmentRow } from '../crm/segments/store.ts';
import { contactTimeline, isTimelineCursor } from '../crm/contacts-timeline.ts';
import { withTx } from '../db/index.ts';
import { invalid, notFound, type ProblemItem } from '../errors.ts';
import { idempotent, isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';

const nullable = (schema: Record<string, unknown>) => ({ ...schema, nullable: true });

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;

export const contactSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    external_id: { type: 'string', nullable: true },
    email: { type: 'string', nullable: true },
    properties: { type: 'object', additionalProperties: true },
    tags: { type: 'array', items: { type: 'string' } },
    score: { type: 'number' },
    owner_id: { type: 'string', nullable: true },
    lifecycle_stage: { type: 'string', nullable: true },
    timezone: { type: 'string', nullable: true },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const upsertBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    external_id: { type: 'string', minLength: 1, maxLength: 255 },
    email: { type: 'string', format: 'email', maxLength: 320 },
    properties: { type: 'object' },
    timezone: { type: 'string', maxLength: 64 },
  },
} as const;

const patchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    external_id: nullable({ type: 'string', minLength: 1, maxLength: 255 }),
    email: nullable({ type: 'string', format: 'email', maxLength: 320 }),
    properties: nullable({ type: 'object' }),
    timezone: nullable({ type: 'string', maxLength: 64 }),
    tags: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 100 } },
    lifecycle_stage: nullable({ type: 'string', minLength: 1, maxLength: 100 }),
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
    schema: { tags: ['contacts'], summary: 'Upsert a contact (201 created, 200 updated)', body: upsertBody, response: { 200: contactSchema, 201: contactSchema } },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const ref = request.body as ContactRef;
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
      tags: ['contacts'], summary: 'List contacts',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          ...pageQuery,
          email: { type: 'string', maxLength: 320 }, external_id: { type: 'string', maxLength: 255 },
          tag: { type: 'string', maxLength: 100 }, segment: { type: 'string', maxLength: 200 },
          q: { type: 'string', minLength: 1, maxLength: 320 },
        },
      },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: contactSchema }, next_cursor: { type: 'string', nullable: true } } } },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const q = request.query as { limit: number; cursor?: string; email?: string; external_id?: string; tag?: string; segment?: string; q?: string };
    const segmentId = q.segment === undefined ? undefined : (await getSegmentRow(ctx.db, workspaceId, q.segment)).id;
    const after = parseCursor(q.cursor, isIdCursor);
    const rows = await listContacts(ctx.db, workspaceId, { ...q, segmentId, after, limit: q.limit });
    return page(rows, q.limit, (r: ContactRow) => r.id, toContact);
  });

  app.get('/contacts/:id', {
    config: { area: 'contacts' },
    schema: { tags: ['contacts'], summary: 'Get a contact', params: idParams, response: { 200: contactSchema } },
  }, async (request) => {
    const id = requireUuid((request.params as { id: string }).id, 'contact');
    const row = await getContact(ctx.db, request.auth!.workspaceId, id);
    if (!row) throw notFound('contact');
    return toContact(row);
  });

  app.patch('/contacts/:id', {
    config: { area: 'contacts' },
    schema: { tags: ['contacts'], summary: 'Change a contact (JSON merge patch)', params: idParams, body: patchBody, response: { 200: contactSchema } },
  }, async (request) => {
    const id = requireUuid((request.params as { id: string }).id, 'contact');
    const body = request.body as ContactPatch;
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
    schema: { tags: ['contacts'], summary: 'Erase a contact: personal data removed, runs cancelled, counts kept', params: idParams },
  }, async (request, reply) => {
    const id = requireUuid((request.params as { id: string }).id, 'contact');
    const erased = await withTx(ctx.db, (tx) => eraseContact(tx, request.auth!.workspaceId, id, ctx.clock.now()));
    if (!erased) throw notFound('contact');
    return reply.code(204).send();
  });

  app.get('/contacts/:id/timeline', {
    config: { area: 'contacts' },
    schema: {
      tags: ['contacts'], summary: "A contact's events and run steps, newest first", params: idParams,
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery } },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const id = requireUuid((request.params as { id: string }).id, 'contact');
    const q = request.query as { limit: number; cursor?: string };
    const before = parseCursor(q.cursor, isTimelineCursor);
    if (!(await getContact(ctx.db, workspaceId, id))) throw notFound('contact');
    return contactTimeline(ctx.db, workspaceId, id, { before, limit: q.limit });
  });
};
