import { ingestEvents } from '../crm/events.ts';
import { createIngestBatcher } from '../crm/ingest-batcher.ts';
import { idempotent } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { email, idempotencyHeaders, identityRule, propertiesObject, ref } from './schemas.ts';

// Shapes only; semantic checks (identity, time zone, property limits) are in crm/events.ts checkEventInputs.
const contactSchema = {
  type: 'object',
  additionalProperties: false,
  ...identityRule,
  properties: {
    external_id: { type: 'string', minLength: 1, maxLength: 255 },
    email,
    properties: propertiesObject,
  },
} as const;

export const eventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'contact'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 200 },
    contact: contactSchema,
    properties: propertiesObject,
    occurred_at: {
      type: 'string', format: 'date-time', pattern: '^(19[7-9][0-9]|[2-9][0-9]{3})-',
      description: 'RFC 3339, between 1970-01-01 and 9999-12-31; default: when the engine receives it',
    },
    idempotency_key: { type: 'string', minLength: 1, maxLength: 255 },
  },
} as const;

const resultSchema = ref('EventResult');
const batchResult = { type: 'object', required: ['items'], properties: { items: { type: 'array', items: resultSchema } } } as const;

export const MAX_BATCH = 1000;

/** POST /v1/events and /v1/events/batch: ingestEvents in one transaction (concurrent single events grouped into one). */
export const eventsRoutes: RouteGroup = async (app, { ctx, onEventsIngested }) => {
  const hooks = { onEventsIngested };
  const batcher = createIngestBatcher(ctx, hooks);
  app.addHook('onClose', async () => batcher.close());

  app.post('/events', {
    config: { area: 'events' },
    schema: {
      operationId: 'ingestEvent', tags: ['events'], summary: 'Ingest one event (the contact is upserted)', headers: idempotencyHeaders, body: eventSchema,
      response: { 202: resultSchema, 200: resultSchema },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    // Without an Idempotency-Key header, concurrent single events share a transaction (group commit).
    if (request.headers['idempotency-key'] === undefined) {
      return reply.code(202).send(await batcher.ingest(workspaceId, request.body));
    }
    const outcome = await idempotent(ctx, request, async (tx) => {
      const [result] = await ingestEvents(tx, workspaceId, [request.body], hooks, { now: ctx.clock.now(), pathOf: () => '' });
      return { status: 202, body: result! };
    });
    return reply.code(outcome.status as 200).send(outcome.body);
  });

  app.post('/events/batch', {
    config: { area: 'events' },
    schema: {
      operationId: 'ingestEvents', tags: ['events'], summary: `Ingest up to ${MAX_BATCH} events atomically`, headers: idempotencyHeaders,
      body: {
        type: 'object', additionalProperties: false, required: ['events'],
        properties: { events: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: eventSchema } },
      },
      response: {
        202: batchResult,
        200: batchResult,
      },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const { events } = request.body;
    const outcome = await idempotent(ctx, request, async (tx) => {
      const items = await ingestEvents(tx, workspaceId, events, hooks, { now: ctx.clock.now() });
      return { status: 202, body: { items } };
    });
    return reply.code(outcome.status as 200).send(outcome.body);
  });
};
