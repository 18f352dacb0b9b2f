import { referralCode, rewardJson, type ReferralProgram, type RewardRow } from '../crm/referrals.ts';
import { withTx } from '../db/index.ts';
import { invalid, notFound } from '../errors.ts';
import { isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import { referralProgramBody } from './program-schemas.ts';
import { checkDurations, programRoutes, unknownProgram } from './programs-kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { page as pageSchema } from './schemas.ts';

/** Referral programs (CONTRACT.md §Referral programs): programs, per-contact codes, the rewards ledger. */
export const referralsRoutes: RouteGroup = async (app, { ctx }) => {
  programRoutes<ReferralProgram>(app, ctx, {
    kind: 'referral', table: 'referral_programs', path: 'referral-programs', body: referralProgramBody, answer: 'ReferralProgram',
    check: (b) => {
      const problems = checkDurations(b as never, ['review_period', 'cap_period']);
      if (b.cap_period !== undefined && b.max_rewards_per_referrer === undefined) problems.push({ path: '/cap_period', message: 'needs max_rewards_per_referrer (the cap it is the period of)' });
      return problems;
    },
  });

  app.get('/contacts/:id/referral-code', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'getReferralCode', tags: ['referral programs'], summary: "A contact's referral code in a program (created on first ask)",
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } },
      querystring: { type: 'object', additionalProperties: false, required: ['program'], properties: { program: { type: 'string', maxLength: 100 } } },
      response: { 200: { type: 'object', required: ['program', 'contact_id', 'code'], properties: { program: { type: 'string' }, contact_id: { type: 'string', format: 'uuid' }, code: { type: 'string' } } } },
    },
  }, async (request) => {
    const id = requireUuid(request.params.id, 'contact');
    const { program } = request.query;
    const { workspaceId } = request.auth!;
    return withTx(ctx.db, async (tx) => {
      const contact = await tx('contacts').where({ workspace_id: workspaceId, id }).whereNull('erased_at').first('id');
      if (!contact) throw notFound('contact');
      const known = await tx('referral_programs').where({ workspace_id: workspaceId, key: program }).first('key');
      if (!known) throw invalid(`no referral program "${program}"`, [unknownProgram('referral', program)]);
      return { program, contact_id: id, code: await referralCode(tx, workspaceId, program, id, ctx.clock.now()) };
    });
  });

  app.get('/rewards', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'listRewards', tags: ['referral programs'], summary: 'The rewards ledger (refusals included, with their reason)',
      response: { 200: pageSchema('Reward') },
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { ...pageQuery, contact_id: { type: 'string', format: 'uuid' }, program: { type: 'string', maxLength: 100 }, status: { type: 'string', enum: ['pending', 'granted', 'voided', 'refused'] } },
      },
    },
  }, async (request) => {
    const q = request.query;
    const after = parseCursor(q.cursor, isIdCursor);
    const rows = await ctx.db('rewards').where({ workspace_id: request.auth!.workspaceId }).modify((b) => {
      if (q.contact_id) b.where('contact_id', q.contact_id);
      if (q.program) b.where('program', q.program);
      if (q.status) b.where('status', q.status);
      if (after) b.where('id', '>', after);
    }).orderBy('id').limit(q.limit + 1).select<RewardRow[]>('*');
    return page(rows, q.limit, (r) => r.id, rewardJson);
  });
};
