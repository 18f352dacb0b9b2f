import { ingestEvents, type EventInput } from '../crm/events.ts';
import { createIngestBatcher } from '../crm/ingest-batcher.ts';
import { idempotent } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';

// Shapes only; semantic checks (identity, time zone, property limits) are in crm/events.ts checkEventInputs.
const contactSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    external_id: { type: 'string', minLength: 1, maxLength: 255 },
    email: { type: 'string', format: 'email', maxLength: 320 },
    properties: { type: 'object' },
  },
} as const;

export const eventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'contact'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 200 },
    contact: contactSchema,
    properties: { type: 'object' },
    occurred_at: { type: 'string', format: 'date-time' },
    idempotency_key: { type: 'string', minLength: 1, maxLength: 255 },
  },
} as const;

const resultSchema = {
  type: 'object',
  required: ['id', 'contact_id', 'duplicate'],
  properties: { id: { type: 'string', format: 'uuid' }, contact_id: { type: 'string', format: 'uuid' }, duplicate: { type: 'boolean' } },
} as const;

export const MAX_BATCH = 1000;

/** POST /v1/events and /v1/events/batch: ingestEvents in one transaction (concurrent single events grouped into one). */
export const eventsRoutes: RouteGroup = async (app, { ctx, onEventsIngested }) => {
  const hooks = { onEventsIngested };
  const batcher = createIngestBatcher(ctx, hooks);

  app.post('/events', {
    config: { area: 'events' },
    schema: {
      tags: ['events'], summary: 'Ingest one event (the contact is upserted)', body: eventSchema,
      response: { 202: resultSchema, 200: resultSchema },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    // Without an Idempotency-Key header, concurrent single events share a transaction (group commit).
    if (request.headers['idempotency-key'] === undefined) {
      return reply.code(202).send(await batcher.ingest(workspaceId, request.body as EventInput));
    }
    const outcome = await idempotent(ctx, request, async (tx) => {
      const [result] = await ingestEvents(tx, workspaceId, [request.body as EventInput], hooks, { now: ctx.clock.now(), pathOf: () => '' });
      return { status: 202, body: result! };
    });
    return reply.code(outcome.status as 200).send(outcome.body);
  });

  app.post('/events/batch', {
    config: { area: 'events' },
    schema: {
      tags: ['events'], summary: `Ingest up to ${MAX_BATCH} events atomically`,
      body: {
        type: 'object', additionalProperties: false, required: ['events'],
        properties: { events: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: eventSchema } },
      },
      response: {
        202: { type: 'object', properties: { items: { type: 'array', items: resultSchema } } },
        200: { type: 'object', properties: { items: { type: 'array', items: resultSchema } } },
      },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const { events } = request.body as { events: EventInput[] };
    const outcome = await idempotent(ctx, request, async (tx) => {
      const items = await ingestEvents(tx, workspaceId, events, hooks, { now: ctx.clock.now() });
      return { status: 202, body: { items } };
    });
    return reply.code(outcome.status as 200).send(outcome.body);
  });
};
