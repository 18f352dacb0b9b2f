import { loyaltyStatus, redeem, type LoyaltyProgram } from '../crm/loyalty.ts';
import { withTx } from '../db/index.ts';
import { invalid, notFound } from '../errors.ts';
import { requireUuid } from './kit.ts';
import { loyaltyProgramBody } from './program-schemas.ts';
import { checkDurations, programRoutes, unknownProgram, type ProgramRow as KitProgramRow } from './programs-kit.ts';
import type { RouteGroup } from './route-groups.ts';

const redemption = {
  type: 'object', required: ['id', 'program', 'contact_id', 'points', 'balance', 'created_at'],
  properties: { id: { type: 'string' }, program: { type: 'string' }, contact_id: { type: 'string', format: 'uuid' }, points: { type: 'number' }, balance: { type: 'number' }, created_at: { type: 'string', format: 'date-time' } },
} as const;
const keyParams = { type: 'object', required: ['key'], properties: { key: { type: 'string', maxLength: 100 } } } as const;

type ProgramRow = KitProgramRow<LoyaltyProgram>;

/** Loyalty programs (CONTRACT.md §Loyalty programs): programs, a contact's balance and tier, redemptions, the ledger. */
export const loyaltyRoutes: RouteGroup = async (app, { ctx }) => {
  const programOf = async (workspaceId: string, key: string) => {
    const row = await ctx.db('loyalty_programs').where({ workspace_id: workspaceId, key }).first<ProgramRow>();
    if (!row) throw invalid(`no loyalty program "${key}"`, [unknownProgram('loyalty', key)]);
    return row;
  };

  programRoutes<LoyaltyProgram>(app, ctx, {
    kind: 'loyalty', table: 'loyalty_programs', path: 'loyalty-programs', body: loyaltyProgramBody, answer: 'LoyaltyProgram',
    check: (b) => {
      const problems = checkDurations(b as never, ['expires_after', 'tier_window']);
      if (b.tier_window !== undefined && !b.tiers?.length) problems.push({ path: '/tier_window', message: 'needs tiers (the window is what tiers are measured over)' });
      (b.tiers ?? []).forEach((t, i) => {
        if (b.tiers!.findIndex((x) => x.name === t.name) !== i) problems.push({ path: `/tiers/${i}/name`, message: `tier "${t.name}" is named twice` });
      });
      return problems;
    },
  });

  app.get('/contacts/:id/loyalty', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'getContactLoyalty', tags: ['loyalty programs'], summary: "A contact's balance and tier in a loyalty program",
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } },
      querystring: { type: 'object', additionalProperties: false, required: ['program'], properties: { program: { type: 'string', maxLength: 100 } } },
      response: {
        200: {
          type: 'object', required: ['program', 'contact_id', 'balance', 'tier', 'earned'],
          properties: { program: { type: 'string' }, contact_id: { type: 'string', format: 'uuid' }, balance: { type: 'number' }, tier: { type: ['string', 'null'] }, earned: { type: 'number' } },
        },
      },
    },
  }, async (request) => {
    const id = requireUuid(request.params.id, 'contact');
    const { workspaceId } = request.auth!;
    const contact = await ctx.db('contacts').where({ workspace_id: workspaceId, id }).whereNull('erased_at').first('id');
    if (!contact) throw notFound('contact');
    const program = await programOf(workspaceId, request.query.program);
    return loyaltyStatus(ctx.db, workspaceId, program.key, id, ctx.clock.now());
  });

  app.get('/loyalty-programs/:key/ledger', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'getLoyaltyLedger', tags: ['loyalty programs'], summary: "A contact's points ledger in a program, newest first",
      params: keyParams,
      response: {
        200: {
          type: 'object', required: ['items', 'next_cursor'],
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object', required: ['id', 'kind', 'points', 'unspent', 'event_id', 'expires_at', 'created_at'],
                properties: {
                  id: { type: 'string' }, kind: { type: 'string' }, points: { type: 'number' }, unspent: { type: ['number', 'null'] }, event_id: { type: ['string', 'null'] },
                  expires_at: { type: ['string', 'null'], format: 'date-time' }, created_at: { type: 'string', format: 'date-time' },
                },
              },
            },
            next_cursor: { type: 'null' },
          },
        },
      },
      querystring: { type: 'object', additionalProperties: false, required: ['contact_id'], properties: { contact_id: { type: 'string', format: 'uuid' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } } },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const program = await programOf(workspaceId, request.params.key);
    const q = request.query;
    const rows = await ctx.db('loyalty_ledger').where({ workspace_id: workspaceId, program: program.key, contact_id: q.contact_id })
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(q.limit)
      .select<{ id: string; kind: string; points: string; remaining: string; event_id: string | null; expires_at: Date | null; created_at: Date }[]>('id', 'kind', 'points', 'remaining', 'event_id', 'expires_at', 'created_at');
    return {
      items: rows.map((r) => ({ id: r.id, kind: r.kind, points: Number(r.points), unspent: r.kind === 'earn' ? Number(r.remaining) : null, event_id: r.event_id, expires_at: r.expires_at?.toISOString() ?? null, created_at: r.created_at.toISOString() })),
      next_cursor: null,
    };
  });

  app.post('/loyalty-programs/:key/redeem', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'redeemPoints', tags: ['loyalty programs'], summary: 'Spend points (201; a repeat of the idempotency_key 200; short balance 409)',
      params: keyParams,
      response: { 201: redemption, 200: redemption },
      body: {
        type: 'object', additionalProperties: false, required: ['contact_id', 'points', 'idempotency_key'],
        properties: { contact_id: { type: 'string', format: 'uuid' }, points: { type: 'integer', minimum: 1, maximum: 1_000_000_000 }, idempotency_key: { type: 'string', minLength: 1, maxLength: 255 } },
      },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const program = await programOf(workspaceId, request.params.key);
    const body = request.body;
    const result = await withTx(ctx.db, async (tx) => {
      const contact = await tx('contacts').where({ workspace_id: workspaceId, id: body.contact_id }).whereNull('erased_at').first('id');
      if (!contact) throw invalid(`contact ${body.contact_id} does not exist`, [{ path: '/contact_id', message: 'no such contact in this workspace' }]);
      return redeem(tx, workspaceId, program.key, body, ctx.clock.now());
    });
    return reply.code(result.repeat ? 200 : 201).send(result.redemption);
  });
};
