import { contactScore, ruleKeys, type ScoringModel } from '../crm/scoring.ts';
import { invalid, notFound, type ProblemItem } from '../errors.ts';
import { parseDuration } from '../time/duration.ts';
import { checkCondition, SCORING_FACTS } from '../rules/index.ts';
import { requireUuid } from './kit.ts';
import { scoringModelBody } from './program-schemas.ts';
import type { RouteGroup } from './route-groups.ts';
import { ref } from './schemas.ts';

/** What JSON Schema cannot say: conditions, durations, thresholds in order, distinct rule keys. */
function checkModel(m: ScoringModel): ProblemItem[] {
  const problems: ProblemItem[] = [];
  m.rules.forEach((r, i) => {
    if (r.when !== undefined) for (const p of checkCondition(r.when, { facts: SCORING_FACTS })) problems.push({ path: `/rules/${i}/when${p.path}`, message: p.message });
  });
  const keys = ruleKeys(m);
  keys.forEach((k, i) => {
    if (keys.indexOf(k) !== i) problems.push({ path: `/rules/${i}/key`, message: `rule key "${k}" is used twice: give each rule on the same event its own key` });
  });
  if (m.decay) {
    const d = parseDuration(m.decay.half_life);
    if (!d || d.negative || d.addTo(new Date(0)).getTime() <= 0) problems.push({ path: '/decay/half_life', message: 'must be a positive ISO 8601 duration such as "P14D"' });
  }
  if (m.disqualified_at !== undefined && (m.qualified_at === undefined || m.disqualified_at >= m.qualified_at)) {
    problems.push({ path: '/disqualified_at', message: 'must be below qualified_at (a lead is disqualified when its score falls back under it)' });
  }
  return problems;
}

/** The workspace's lead-scoring model (CONTRACT.md §Lead scoring) and a contact's score breakdown. */
export const scoringRoutes: RouteGroup = async (app, { ctx }) => {
  app.put('/scoring', { schema: { operationId: 'putScoring', tags: ['scoring'], summary: 'Set the lead-scoring model', body: scoringModelBody, response: { 200: ref('ScoringModel') } } }, async (request) => {
    const model = request.body;
    const problems = checkModel(model);
    if (problems.length) throw invalid(`the scoring model is not valid: ${problems[0]!.path} ${problems[0]!.message}`, problems);
    const now = ctx.clock.now();
    await ctx.db.raw(
      `INSERT INTO scoring_models (workspace_id, model, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (workspace_id) DO UPDATE SET model = EXCLUDED.model, updated_at = EXCLUDED.updated_at`,
      [request.auth!.workspaceId, JSON.stringify(model), now],
    );
    return { ...model, updated_at: now.toISOString() };
  });

  app.get('/scoring', { config: { area: 'contacts' }, schema: { operationId: 'getScoring', tags: ['scoring'], summary: 'The lead-scoring model', response: { 200: ref('ScoringModel') } } }, async (request) => {
    const row = await ctx.db('scoring_models').where({ workspace_id: request.auth!.workspaceId }).first<{ model: ScoringModel; updated_at: Date }>();
    return row ? { ...row.model, updated_at: row.updated_at.toISOString() } : { rules: [], updated_at: null };
  });

  app.get('/contacts/:id/score', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'getContactScore', tags: ['scoring'], summary: "A contact's score, rule by rule",
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } },
      response: {
        200: {
          type: 'object', required: ['contact_id', 'score', 'breakdown', 'qualified_at', 'disqualified_at'],
          properties: {
            contact_id: { type: 'string', format: 'uuid' }, score: { type: 'number' },
            breakdown: { type: 'array', items: { type: 'object', required: ['rule', 'points'], properties: { rule: { type: 'string' }, points: { type: 'number' } } } },
            qualified_at: { type: ['string', 'null'], format: 'date-time' }, disqualified_at: { type: ['string', 'null'], format: 'date-time' },
          },
        },
      },
    },
  }, async (request) => {
    const id = requireUuid(request.params.id, 'contact');
    const s = await contactScore(ctx.db, request.auth!.workspaceId, id);
    if (!s) throw notFound('contact');
    return { contact_id: id, ...s };
  });
};
