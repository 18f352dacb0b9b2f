import { newId } from '../db/ids.ts';
import { conflict, invalid, notFound } from '../errors.ts';
import { idempotent, isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { email, idempotencyHeaders, page as pageSchema, ref } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;

const ownerFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  email,
  weight: { type: 'integer', minimum: 0, maximum: 100 },
  capacity: { type: ['integer', 'null'], minimum: 0 },
  available: { type: 'boolean' },
  territories: { type: 'array', maxItems: 200, items: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

interface OwnerRow { id: string; name: string; email: string; weight: number; capacity: number | null; available: boolean; territories: string[]; assigned_count: number; created_at: Date; updated_at: Date }

const ownerJson = (o: OwnerRow) => ({
  id: o.id, name: o.name, email: o.email, weight: o.weight, capacity: o.capacity, available: o.available, territories: o.territories,
  assigned_count: o.assigned_count, created_at: o.created_at.toISOString(), updated_at: o.updated_at.toISOString(),
});

interface PoolRow { id: string; key: string; owner_ids: string[]; fallback_owner_id: string | null; created_at: Date }
const poolJson = (p: PoolRow) => ({ id: p.id, key: p.key, owner_ids: p.owner_ids, fallback_owner_id: p.fallback_owner_id, created_at: p.created_at.toISOString() });

/** Owners (the people leads are routed to) and routing pools. Writes need admin ('workspace' area). */
export const ownersRoutes: RouteGroup = async (app, { ctx }) => {
  app.post('/owners', {
    schema: {
      operationId: 'createOwner', tags: ['owners'], summary: 'Create an owner (a person leads are routed to)', headers: idempotencyHeaders,
      body: { type: 'object', additionalProperties: false, required: ['name', 'email'], properties: ownerFields },
      response: { 201: ref('Owner'), 200: ref('Owner') },
    },
  }, async (request, reply) => {
    const b = request.body;
    const { workspaceId } = request.auth!;
    const now = ctx.clock.now();
    const outcome = await idempotent(ctx, request, async (tx) => {
      const [row] = await tx('owners').insert({
        id: newId(now.getTime()), workspace_id: workspaceId, name: b.name, email: b.email, weight: b.weight ?? 1, capacity: b.capacity ?? null,
        available: b.available ?? true, territories: b.territories ?? [], created_at: now, updated_at: now,
      }).returning<OwnerRow[]>('*');
      return { status: 201, body: ownerJson(row!) };
    });
    return reply.code(outcome.status as 201).send(outcome.body);
  });

  app.get('/owners', { config: { area: 'contacts' }, schema: { operationId: 'listOwners', tags: ['owners'], summary: 'List owners', querystring: { type: 'object', additionalProperties: false, properties: pageQuery }, response: { 200: pageSchema('Owner') } } }, async (request) => {
    const q = request.query;
    const after = parseCursor(q.cursor, isIdCursor);
    const rows = await ctx.db('owners').where({ workspace_id: request.auth!.workspaceId }).modify((b) => { if (after) b.where('id', '>', after); })
      .orderBy('id').limit(q.limit + 1).select<OwnerRow[]>('*');
    return page(rows, q.limit, (r) => r.id, ownerJson);
  });

  app.get('/owners/:id', { config: { area: 'contacts' }, schema: { operationId: 'getOwner', tags: ['owners'], summary: 'Get an owner', params: idParams, response: { 200: ref('Owner') } } }, async (request) => {
    const row = await ctx.db('owners').where({ workspace_id: request.auth!.workspaceId, id: requireUuid(request.params.id, 'owner') }).first<OwnerRow>();
    if (!row) throw notFound('owner');
    return ownerJson(row);
  });

  app.patch('/owners/:id', { schema: { operationId: 'patchOwner', tags: ['owners'], summary: 'Change an owner (availability, capacity, weight, territories)', params: idParams, body: { type: 'object', additionalProperties: false, properties: ownerFields }, response: { 200: ref('Owner') } } }, async (request) => {
    const id = requireUuid(request.params.id, 'owner');
    const [row] = await ctx.db('owners').where({ workspace_id: request.auth!.workspaceId, id })
      .update({ ...request.body, updated_at: ctx.clock.now() }).returning<OwnerRow[]>('*');
    if (!row) throw notFound('owner');
    return ownerJson(row);
  });

  app.post('/routing-pools', {
    schema: {
      operationId: 'createRoutingPool', tags: ['owners'], summary: 'Create a routing pool of owners', headers: idempotencyHeaders,
      response: { 201: ref('RoutingPool'), 200: ref('RoutingPool') },
      body: {
        type: 'object', additionalProperties: false, required: ['key', 'owner_ids'],
        properties: {
          key: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
          owner_ids: { type: 'array', minItems: 1, maxItems: 500, uniqueItems: true, items: { type: 'string', maxLength: 100 } },
          fallback_owner_id: { type: 'string', maxLength: 100 },
        },
      },
    },
  }, async (request, reply) => {
    const b = request.body;
    const { workspaceId } = request.auth!;
    const ids = [...b.owner_ids, ...(b.fallback_owner_id ? [b.fallback_owner_id] : [])];
    const outcome = await idempotent(ctx, request, async (tx) => {
      const known = new Set((await tx('owners').where({ workspace_id: workspaceId }).whereIn('id', ids.filter((x) => /^[0-9a-f-]{36}$/i.test(x))).select<{ id: string }[]>('id')).map((r) => r.id));
      const problems = b.owner_ids.map((id, i) => (known.has(id) ? null : { path: `/owner_ids/${i}`, message: `owner ${id} does not exist` })).filter((x) => x !== null);
      if (b.fallback_owner_id && !known.has(b.fallback_owner_id)) problems.push({ path: '/fallback_owner_id', message: `owner ${b.fallback_owner_id} does not exist` });
      if (problems.length) throw invalid('the routing pool names owners that do not exist', problems);
      const now = ctx.clock.now();
      const [row] = await tx('routing_pools')
        .insert({ id: newId(now.getTime()), workspace_id: workspaceId, key: b.key, owner_ids: b.owner_ids, fallback_owner_id: b.fallback_owner_id ?? null, created_at: now })
        .onConflict(['workspace_id', 'key']).ignore().returning<PoolRow[]>('*');
      if (!row) throw conflict(`a routing pool with key "${b.key}" already exists`);
      return { status: 201, body: poolJson(row) };
    });
    return reply.code(outcome.status as 201).send(outcome.body);
  });

  app.get('/routing-pools', { config: { area: 'contacts' }, schema: { operationId: 'listRoutingPools', tags: ['owners'], summary: 'List routing pools', response: { 200: pageSchema('RoutingPool') } } }, async (request) => {
    const rows = await ctx.db('routing_pools').where({ workspace_id: request.auth!.workspaceId }).orderBy('key').select<PoolRow[]>('*');
    return { items: rows.map(poolJson), next_cursor: null };
  });

};
