import { getContact, toContact, type ContactRow } from '../crm/contacts.ts';
import { churnThreshold, loadScores, setChurnThreshold } from '../crm/segments/scores.ts';
import { notFound } from '../errors.ts';
import { createSegmentMaintainer } from '../crm/segments/membership.ts';
import {
  createSegment, deleteSegment, getSegmentRow, listMembers, memberCounts, patchSegment, previewRule, sizeHistory, toSegment, type SegmentRow,
} from '../crm/segments/store.ts';
import { withTx } from '../db/index.ts';
import { idempotent, isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import { noContent } from './openapi.ts';
import type { RouteGroup } from './route-groups.ts';
import { idempotencyHeaders, page as pageSchema, ref } from './schemas.ts';

const KEY_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,99}$';
const keyParams = { type: 'object', required: ['key'], properties: { key: { type: 'string', maxLength: 100 } } } as const;
const ruleSchema = { type: 'object', description: 'a json-rules-engine condition over the facts contact and activity (docs/segments.md)' } as const;

const segmentSchema = ref('Segment');

/** Segments (CONTRACT.md §Lifecycle objects, docs/segments.md): CRUD, members, preview of a rule being edited. */
export const segmentsRoutes: RouteGroup = async (app, { ctx, engine }) => {
  // Without a flow engine (apps built for a test), transitions are still recorded, they just start no runs.
  const segments = engine?.segments ?? createSegmentMaintainer({ clock: ctx.clock });
  const withCount = async (row: SegmentRow) => toSegment(row, (await memberCounts(ctx.db, row.workspace_id, [row.id])).get(row.id) ?? 0);

  app.post('/segments', {
    config: { area: 'flows' },
    schema: {
      operationId: 'createSegment', tags: ['segments'], summary: 'Create a segment (answers at once; existing contacts are evaluated in the background: status "evaluating", then "ready")', headers: idempotencyHeaders,
      body: {
        type: 'object', additionalProperties: false, required: ['key', 'name', 'rule'],
        properties: { key: { type: 'string', pattern: KEY_PATTERN }, name: { type: 'string', minLength: 1, maxLength: 200 }, rule: ruleSchema },
      },
      response: { 200: segmentSchema, 201: segmentSchema },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const body = request.body;
    const outcome = await idempotent(ctx, request, async (tx) => {
      const row = await createSegment(tx, workspaceId, body, ctx.clock.now());
      return { status: 201, body: row };
    });
    const row = await getSegmentRow(ctx.db, workspaceId, (outcome.body as SegmentRow).key ?? body.key);
    return reply.code(outcome.status as 201).send(await withCount(row));
  });

  app.get('/segments', {
    config: { area: 'flows' },
    schema: {
      operationId: 'listSegments', tags: ['segments'], summary: 'List segments with their member counts',
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery } },
      response: { 200: pageSchema('Segment') },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const q = request.query;
    const after = parseCursor(q.cursor, (v): v is string => typeof v === 'string');
    const b = ctx.db('segments').where({ workspace_id: workspaceId });
    if (after) b.where('key', '>', after);
    const rows = await b.orderBy('key').limit(q.limit + 1).select<SegmentRow[]>('*');
    const counts = await memberCounts(ctx.db, workspaceId, rows.map((r) => r.id));
    return page(rows, q.limit, (r) => r.key, (r) => toSegment(r, counts.get(r.id) ?? 0));
  });

  app.post('/segments/preview', {
    config: { area: 'flows' },
    schema: {
      operationId: 'previewSegment', tags: ['segments'], summary: 'Count and sample the contacts a rule would hold now (nothing is stored)',
      body: { type: 'object', additionalProperties: false, required: ['rule'], properties: { rule: ruleSchema } },
      response: { 200: { type: 'object', required: ['count', 'sample'], properties: { count: { type: 'integer' }, sample: { type: 'array', items: ref('Contact') } } } },
    },
  }, async (request) => {
    const { rule } = request.body;
    const { count, sample } = await previewRule(ctx.db, request.auth!.workspaceId, rule, ctx.clock.now());
    return { count, sample: sample.map(toContact) };
  });

  app.get('/segments/:key', {
    config: { area: 'flows' },
    schema: { operationId: 'getSegment', tags: ['segments'], summary: 'A segment, its member count and 30 days of size history', params: keyParams, response: { 200: segmentSchema } },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const row = await getSegmentRow(ctx.db, workspaceId, request.params.key);
    return { ...(await withCount(row)), history: await sizeHistory(ctx.db, workspaceId, row.id, ctx.clock.now()) };
  });

  app.patch('/segments/:key', {
    config: { area: 'flows' },
    schema: {
      operationId: 'patchSegment', tags: ['segments'], summary: 'Rename a segment or change its rule (a new rule is evaluated in the background: status "evaluating", then "ready")', params: keyParams,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, rule: ruleSchema } },
      response: { 200: segmentSchema },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const key = request.params.key;
    const { row } = await withTx(ctx.db, (tx) => patchSegment(tx, workspaceId, key, request.body, ctx.clock.now()));
    return withCount(row);
  });

  app.delete('/segments/:key', {
    config: { area: 'flows' },
    schema: { operationId: 'deleteSegment', tags: ['segments'], summary: 'Delete a segment (409 while a published flow uses it)', params: keyParams, response: { 204: noContent } },
  }, async (request, reply) => {
    await withTx(ctx.db, (tx) => deleteSegment(tx, request.auth!.workspaceId, request.params.key));
    return reply.code(204).send();
  });

  app.get('/segments/:key/contacts', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'listSegmentContacts', tags: ['segments'], summary: 'Members of a segment, in contact id order', params: keyParams,
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery } },
      response: { 200: pageSchema('Contact') },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const q = request.query;
    const row = await getSegmentRow(ctx.db, workspaceId, request.params.key);
    const rows = await listMembers(ctx.db, workspaceId, row.id, parseCursor(q.cursor, isIdCursor), q.limit);
    return page(rows, q.limit, (r: ContactRow) => r.id, toContact);
  });

  app.post('/scores/recompute', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'recomputeScores', tags: ['segments'], summary: 'Recompute RFM and churn risk now (then hourly)', body: { type: 'object', additionalProperties: false, properties: {} },
      response: { 200: { type: 'object', required: ['customers', 'window_shoppers'], properties: { customers: { type: 'integer' }, window_shoppers: { type: 'integer' } } } },
    },
  }, async (request) => segments.recomputeScores(ctx.db, request.auth!.workspaceId, ctx.clock.now()));

  const churnSettings = {
    type: 'object', additionalProperties: false, required: ['threshold'],
    properties: { threshold: { type: 'integer', minimum: 0, maximum: 100, description: 'churn.risk_high is recorded when a score rises from below this to at or above it' } },
  } as const;

  app.get('/settings/churn', {
    config: { area: 'workspace' },
    schema: { operationId: 'getChurnSettings', tags: ['segments'], summary: 'The churn-risk threshold of churn.risk_high (default 70)', response: { 200: churnSettings } },
  }, async (request) => ({ threshold: await churnThreshold(ctx.db, request.auth!.workspaceId) }));

  app.put('/settings/churn', {
    config: { area: 'workspace' },
    schema: { operationId: 'putChurnSettings', tags: ['segments'], summary: 'Set the churn-risk threshold (0-100); it applies from the next recompute', body: churnSettings, response: { 200: churnSettings } },
  }, async (request) => withTx(ctx.db, (tx) => setChurnThreshold(tx, request.auth!.workspaceId, request.body.threshold)));

  app.get('/contacts/:id/segments', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'getContactSegments', tags: ['segments'], summary: "A contact's segments, RFM scores and group, churn risk with its factors",
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } },
      response: {
        200: {
          type: 'object', required: ['segments', 'rfm', 'churn_risk'],
          properties: {
            segments: { type: 'array', items: { type: 'object', required: ['key', 'name', 'entered_at'], properties: { key: { type: 'string' }, name: { type: 'string' }, entered_at: { type: 'string', format: 'date-time' } } } },
            rfm: {
              anyOf: [
                { type: 'null' },
                {
                  type: 'object', required: ['r', 'f', 'm', 'group'], description: 'recency, frequency and monetary quintiles (1–5) and the group they make (docs/segments.md)',
                  properties: { r: { type: ['integer', 'null'] }, f: { type: ['integer', 'null'] }, m: { type: ['integer', 'null'] }, group: { type: 'string' } },
                },
              ],
            },
            churn_risk: {
              anyOf: [
                { type: 'null' },
                {
                  type: 'object', required: ['score', 'factors'],
                  properties: {
                    score: { type: 'number' },
                    factors: {
                      type: 'array',
                      items: {
                        type: 'object', required: ['factor', 'value', 'points', 'max'],
                        properties: {
                          factor: { enum: ['recency', 'frequency_trend', 'engagement_decline', 'nps_detractor', 'open_support_issues'] },
                          value: { type: ['number', 'null'], description: 'the measured value the points come from' }, points: { type: 'number' }, max: { type: 'number' },
                        },
                      },
                    },
                  },
                },
              ],
            },
          },
        },
      },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const id = requireUuid(request.params.id, 'contact');
    if (!(await getContact(ctx.db, workspaceId, id))) throw notFound('contact');
    const { rows } = await ctx.db.raw(
      `SELECT s.key, s.name, m.entered_at FROM segment_members m JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
        WHERE m.workspace_id = ? AND m.contact_id = ? ORDER BY s.key`,
      [workspaceId, id],
    );
    const scores = (await loadScores(ctx.db, workspaceId, [id])).get(id);
    return {
      segments: (rows as { key: string; name: string; entered_at: Date }[]).map((r) => ({ key: r.key, name: r.name, entered_at: r.entered_at.toISOString() })),
      rfm: scores?.rfm ?? null,
      churn_risk: scores?.churn ?? null,
    };
  });
};
