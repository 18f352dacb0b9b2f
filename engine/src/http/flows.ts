import { withTx } from '../db/index.ts';
import { CairnError, invalid, notFound } from '../errors.ts';
import { FLOW_KEY_PATTERN, type FlowDocument } from '../contracts/flow.ts';
import { compileFlow } from '../flow/compile.ts';
import {
  checkDraftShape, coreOnly, createFlow, flowStats, getFlowRow, listVersions, publishFlow, setFlowKey, setFlowStatus, toFlowJson,
  unarchiveFlow, updateDraft, validateDraft, type FlowRow,
} from '../flow/service.ts';
import { draftContact, dryRun, storedContact } from '../runner/dry-run.ts';
import { postgresDryRunReads } from '../runner/postgres/index.ts';
import { resolvePluginNodes } from '../plugins/flow-plugins.ts';
import { checkTriggerSource, queueTriggerSync } from '../plugins/triggers.ts';
import { flowPins, pinChanges } from '../plugins/pins.ts';
import { idempotent, isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { anyJson, idempotencyHeaders, page as pageSchema, ref } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;
/**
 * A draft: the envelope of a cairn.flow/v1 document. A draft may be incomplete while it is edited; the full
 * FlowDocument schema and the graph rules are applied by validate and publish (every problem at once, with paths).
 */
const documentBody = {
  type: 'object',
  description: 'a cairn.flow/v1 document (FlowDocument; docs/flows.md); a draft may be incomplete until it is published',
  required: ['schema', 'name', 'nodes', 'edges'],
  properties: {
    schema: { const: 'cairn.flow/v1' },
    name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
    settings: { type: 'object' },
    nodes: { type: 'array', items: { type: 'object' } },
    edges: { type: 'array', items: { type: 'object' } },
  },
} as const;
const flowAnswer = { 200: { ...ref('Flow'), description: 'the flow; its draft entity tag is also in the ETag header' } } as const;
/** A flow key names the flow in a directory of flow files (docs/flows-as-code.md). */
const flowKey = { type: 'string', pattern: FLOW_KEY_PATTERN.source, description: 'lowercase letters, digits, - and _ (at most 100), e.g. lead-routing' } as const;

function refuseShape(doc: unknown): asserts doc is FlowDocument {
  const problems = checkDraftShape(doc);
  if (problems.length) throw invalid(`the flow document is not valid: ${problems[0]!.path || '(body)'} ${problems[0]!.message}`, problems);
}

export const flowsRoutes: RouteGroup = async (app, { ctx, nodeTypes = coreOnly }) => {
  const dryRunReads = postgresDryRunReads(ctx.db);
  const flowJson = async (row: FlowRow) => toFlowJson(row, await listVersions(ctx.db, row.workspace_id, row.id));

  app.post('/flows', {
    config: { area: 'flows' },
    schema: {
      operationId: 'createFlow', tags: ['flows'], summary: 'Create a flow from a document (its draft), optionally with its key', headers: idempotencyHeaders, body: documentBody,
      querystring: { type: 'object', additionalProperties: false, properties: { key: flowKey } }, response: { 201: ref('Flow'), 200: ref('Flow') },
    },
  }, async (request, reply) => {
    refuseShape(request.body);
    const doc = request.body;
    const key = request.query.key ?? null;
    const { workspaceId } = request.auth!;
    const outcome = await idempotent(ctx, request, async (tx) => ({ status: 201, body: toFlowJson(await createFlow(tx, workspaceId, doc, ctx.clock.now(), key), []) }));
    return reply.code(outcome.status as 201).send(outcome.body);
  });

  app.get('/flows', {
    config: { area: 'flows' },
    schema: {
      operationId: 'listFlows', tags: ['flows'], summary: 'List flows, newest first, with live run counts',
      querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery, status: { enum: ['draft', 'active', 'paused', 'archived'] }, key: flowKey } },
      response: { 200: pageSchema('FlowSummary') },
    },
  }, async (request) => {
    const q = request.query;
    const after = parseCursor(q.cursor, isIdCursor);
    const rows = await ctx.db('flows')
      .where({ workspace_id: request.auth!.workspaceId })
      .modify((b) => { if (q.status) b.where('status', q.status); if (q.key) b.where('key', q.key); if (after) b.where('id', '<', after); })
      .orderBy('id', 'desc').limit(q.limit + 1).select<FlowRow[]>('*');
    const stats = await ctx.db.raw(
      `SELECT flow_id, sum(started)::int AS started, sum(completed + converted + exited + failed + cancelled)::int AS ended, sum(converted)::int AS converted
         FROM flow_stats WHERE workspace_id = ? AND flow_id = ANY(?::uuid[]) GROUP BY flow_id`,
      [request.auth!.workspaceId, rows.map((r) => r.id)],
    );
    const byFlow = new Map((stats.rows as { flow_id: string; started: number; ended: number; converted: number }[]).map((s) => [s.flow_id, s]));
    return page(rows, q.limit, (r) => r.id, (r) => {
      const s = byFlow.get(r.id);
      return {
        id: r.id, key: r.key, name: r.name, status: r.status, published_version: r.published_version,
        active_runs: s ? s.started - s.ended : 0,
        conversion_rate: s && s.started > 0 ? s.converted / s.started : null,
        // Conversion only means something for a flow with a goal; the builder says "No goal" otherwise.
        has_goal: !!r.draft?.settings?.goal,
        created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString(),
      };
    });
  });

  // The draft's entity tag travels as `ETag` (and `draft_etag` in the body); `PUT …/draft` with `If-Match` refuses
  // to overwrite a draft that changed since (409). Without `If-Match` the save is unconditional.
  app.get('/flows/:id', { config: { area: 'flows' }, schema: { operationId: 'getFlow', tags: ['flows'], summary: 'A flow: draft, status, versions', params: idParams, response: flowAnswer } }, async (request, reply) => {
    const body = await flowJson(await getFlowRow(ctx.db, request.auth!.workspaceId, requireUuid(request.params.id, 'flow')));
    return reply.header('etag', body.draft_etag).send(body);
  });

  app.put('/flows/:id/draft', {
    config: { area: 'flows' },
    schema: {
      operationId: 'saveFlowDraft', tags: ['flows'], summary: 'Replace the draft (If-Match: its ETag refuses a stale save with 409)', params: idParams, body: documentBody,
      headers: { type: 'object', properties: { 'if-match': { type: 'string', description: 'the ETag (draft_etag) of the draft this one replaces' } } },
      response: flowAnswer,
    },
  }, async (request, reply) => {
    refuseShape(request.body);
    const doc = request.body;
    const id = requireUuid(request.params.id, 'flow');
    const ifMatch = request.headers['if-match'];
    const row = await withTx(ctx.db, (tx) => updateDraft(tx, request.auth!.workspaceId, id, doc, ctx.clock.now(), ifMatch));
    const body = await flowJson(row);
    return reply.header('etag', body.draft_etag).send(body);
  });

  app.put('/flows/:id/key', {
    config: { area: 'flows' },
    schema: {
      operationId: 'setFlowKey', tags: ['flows'], summary: 'Name the flow with a key (its file name in a directory of flows)', params: idParams,
      body: { type: 'object', required: ['key'], additionalProperties: false, properties: { key: flowKey } }, response: flowAnswer,
    },
  }, async (request, reply) => {
    const id = requireUuid(request.params.id, 'flow');
    const row = await withTx(ctx.db, (tx) => setFlowKey(tx, request.auth!.workspaceId, id, request.body.key, ctx.clock.now()));
    const body = await flowJson(row);
    return reply.header('etag', body.draft_etag).send(body);
  });

  app.post('/flows/:id/validate', { config: { area: 'flows' }, schema: { operationId: 'validateFlow', tags: ['flows'], summary: 'Check the draft: schema, node configs, graph rules', params: idParams, response: { 200: ref('FlowValidation') } } }, async (request) => {
    const { workspaceId } = request.auth!;
    const row = await getFlowRow(ctx.db, workspaceId, requireUuid(request.params.id, 'flow'));
    return validateDraft(row.draft, await nodeTypes(workspaceId));
  });

  app.post('/flows/:id/publish', {
    config: { area: 'flows' },
    schema: {
      operationId: 'publishFlow', tags: ['flows'], summary: 'Publish the draft as the next immutable version (422 with its problems if invalid)', params: idParams,
      body: { type: ['object', 'null'], additionalProperties: false, properties: { note: { type: 'string', maxLength: 2000 } } },
      response: {
        200: {
          type: 'object', required: ['version', 'plugin_pins', 'pin_changes'],
          properties: {
            version: { type: 'integer' },
            plugin_pins: { type: 'object', additionalProperties: { type: 'string' }, description: 'plugin id → the version this version runs' },
            pin_changes: {
              type: 'array', description: "plugins whose pinned version differs from the previous publication's (from/to null: added/removed)",
              items: { type: 'object', required: ['plugin_id', 'from', 'to'], properties: { plugin_id: { type: 'string' }, from: { type: ['string', 'null'] }, to: { type: ['string', 'null'] } } },
            },
          },
        },
      },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const id = requireUuid(request.params.id, 'flow');
    const note = request.body?.note ?? null;
    const resolve = await nodeTypes(workspaceId);
    return withTx(ctx.db, async (tx) => {
      // Pin the plugin versions the draft's plugin nodes and plugin trigger run (kept from the previous publication
      // unless a node names another); later uploads do not change this version.
      const draft = (await getFlowRow(tx, workspaceId, id)).draft;
      const previous = await flowPins(tx, workspaceId, id);
      const { pins, errors } = await resolvePluginNodes(tx, workspaceId, draft.nodes ?? [], previous);
      // A trigger.event whose source is a plugin trigger: that plugin must have it (in the pinned version).
      const sourceErrors = await checkTriggerSource(tx, workspaceId, { nodes: draft.nodes ?? [] }, pins);
      if (sourceErrors.length) throw new CairnError('CAIRN_ERR_INVALID_FLOW', `the flow has a problem: ${sourceErrors[0]!.message}`, { errors: sourceErrors });
      const { version } = await publishFlow(tx, workspaceId, id, { note, now: ctx.clock.now(), resolve, pins, problems: errors });
      await queueTriggerSync(tx, workspaceId, id, { nodes: draft.nodes ?? [] });
      return { version, plugin_pins: pins, pin_changes: pinChanges(previous, pins) };
    });
  });

  for (const action of ['pause', 'resume', 'archive'] as const) {
    app.post(`/flows/:id/${action}`, { config: { area: 'flows' }, schema: { operationId: `${action}Flow`, tags: ['flows'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} the flow`, params: idParams, response: flowAnswer } }, async (request) => {
      const id = requireUuid(request.params.id, 'flow');
      const row = await withTx(ctx.db, async (tx) => {
        const changed = await setFlowStatus(tx, request.auth!.workspaceId, id, action, ctx.clock.now());
        await queueTriggerSync(tx, request.auth!.workspaceId, id);
        return changed;
      });
      return flowJson(row);
    });
  }

  app.post('/flows/:id/unarchive', { config: { area: 'flows' }, schema: { operationId: 'unarchiveFlow', tags: ['flows'], summary: 'Bring an archived flow back (paused, or draft if never published)', params: idParams, response: flowAnswer } }, async (request) => {
    const id = requireUuid(request.params.id, 'flow');
    return flowJson(await withTx(ctx.db, (tx) => unarchiveFlow(tx, request.auth!.workspaceId, id, ctx.clock.now())));
  });

  app.get('/flows/:id/versions/:n', {
    config: { area: 'flows' },
    schema: {
      operationId: 'getFlowVersion', tags: ['flows'], summary: 'A published version of a flow',
      params: { type: 'object', required: ['id', 'n'], properties: { id: { type: 'string', maxLength: 100 }, n: { type: 'integer', minimum: 1, maximum: 2147483647 } } },
      response: {
        200: {
          type: 'object', required: ['version', 'document', 'note', 'published_at', 'plugin_pins'],
          properties: {
            version: { type: 'integer' }, document: ref('FlowDocument'), note: { type: ['string', 'null'] }, published_at: { type: 'string', format: 'date-time' },
            plugin_pins: { type: 'object', additionalProperties: { type: 'string' }, description: 'plugin id → the version its nodes run' },
          },
        },
      },
    },
  }, async (request) => {
    const { id, n } = request.params;
    const v = await ctx.db('flow_versions').where({ workspace_id: request.auth!.workspaceId, flow_id: requireUuid(id, 'flow'), version: n })
      .first<{ version: number; document: FlowDocument; note: string | null; published_at: Date; plugin_pins: Record<string, string> }>();
    if (!v) throw notFound('flow version');
    return { version: v.version, document: v.document, note: v.note, published_at: v.published_at.toISOString(), plugin_pins: v.plugin_pins };
  });

  app.get('/flows/:id/stats', {
    config: { area: 'flows' },
    schema: {
      operationId: 'getFlowStats', tags: ['flows'], summary: 'Per-node and per-run counts of a version (default: the published one)', params: idParams,
      querystring: { type: 'object', additionalProperties: false, properties: { version: { type: 'integer', minimum: 1, maximum: 2147483647 } } },
      response: { 200: ref('FlowStats') },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const row = await getFlowRow(ctx.db, workspaceId, requireUuid(request.params.id, 'flow'));
    const version = request.query.version ?? row.published_version;
    if (version === null) return { version: null, nodes: {}, runs: { active: 0, completed: 0, converted: 0, exited: 0, failed: 0, cancelled: 0 } };
    return flowStats(ctx.db, workspaceId, row.id, version);
  });

  app.post('/flows/:id/test', {
    config: { area: 'flows' },
    schema: {
      operationId: 'testFlow', tags: ['flows'], summary: 'Dry run: the path the draft would take for a contact and event, with no side effect', params: idParams,
      response: {
        200: {
          type: 'object', required: ['triggered', 'status', 'path', 'steps', 'actions', 'contact'],
          properties: {
            triggered: { type: 'boolean' }, status: { type: 'string' }, path: { type: 'array', items: { type: 'string' } },
            steps: {
              type: 'array',
              items: {
                type: 'object', required: ['node_id', 'type', 'status', 'output', 'error', 'at'],
                properties: {
                  node_id: { type: 'string' }, type: { type: 'string' }, status: { type: 'string' }, output: anyJson, error: anyJson,
                  at: { type: 'string', description: 'when the engine would be at this step, relative to the trigger (an ISO 8601 duration)' },
                },
              },
            },
            actions: {
              type: 'array', description: 'what would change or be sent: contact changes, owner assignments, tasks, emitted events, external calls',
              items: { type: 'object', required: ['node_id', 'type', 'effect'], properties: { node_id: { type: 'string' }, type: { type: 'string' }, effect: anyJson } },
            },
            contact: { ...ref('Contact'), description: 'the contact as the run would leave it' },
          },
        },
      },
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['event'],
        properties: {
          contact_id: { type: 'string' },
          contact: {
            type: 'object', additionalProperties: false,
            properties: { external_id: { type: 'string' }, email: { type: 'string' }, properties: { type: 'object' }, tags: { type: 'array', items: { type: 'string' } }, score: { type: 'number' }, owner_id: { type: 'string' }, timezone: { type: 'string' } },
          },
          event: { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { type: 'string', minLength: 1 }, properties: { type: 'object' }, occurred_at: { type: 'string', format: 'date-time' } } },
          assume_events: { type: 'array', maxItems: 50, items: { type: 'string' } },
        },
      },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const row = await getFlowRow(ctx.db, workspaceId, requireUuid(request.params.id, 'flow'));
    const resolve = await nodeTypes(workspaceId);
    const result = validateDraft(row.draft, resolve);
    if (!result.valid) throw new CairnError('CAIRN_ERR_INVALID_FLOW', `the draft has ${result.errors.length} problem(s); fix them before testing`, { errors: result.errors });
    const body = request.body;
    const now = ctx.clock.now();
    const contact = body.contact_id
      ? await storedContact(dryRunReads, workspaceId, requireUuid(body.contact_id, 'contact'))
      : draftContact(workspaceId, body.contact ?? {}, now);
    const flow = compileFlow(row.draft, { workspaceId, flowId: row.id, version: 0 }, resolve);
    return dryRun(dryRunReads, flow, { contact, event: body.event, now, assumeEvents: body.assume_events });
  });

};
