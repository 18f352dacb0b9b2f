import { computeKpis, MAX_RANGE_DAYS } from '../crm/kpis.ts';
import { invalid, notFound } from '../errors.ts';
import { requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { ref } from './schemas.ts';

const DAY = 86_400_000;

/** KPIs (CONTRACT.md §KPIs, docs/kpis.md): one answer for a period, optionally for one flow or one segment. */
export const kpisRoutes: RouteGroup = async (app, { ctx }) => {
  app.get('/kpis', {
    config: { area: 'flows' },
    schema: {
      operationId: 'getKpis', tags: ['kpis'],
      response: { 200: ref('Kpis') },
      summary: 'Conversion per flow (holdout lift with a 95% interval), churn, NPS, CSAT, CLV, CAC, series and cohorts',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          from: { type: 'string', format: 'date-time' },
          to: { type: 'string', format: 'date-time' },
          interval: { enum: ['day', 'week', 'month'], default: 'month' },
          flow_id: { type: 'string', maxLength: 100 },
          segment: { type: 'string', maxLength: 100 },
          churn_window_days: { type: 'integer', minimum: 1, maximum: MAX_RANGE_DAYS, default: 90 },
        },
      },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const q = request.query;
    const to = q.to ? new Date(q.to) : ctx.clock.now();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * DAY);
    if (from.getTime() >= to.getTime()) throw invalid('from must be before to', [{ path: '/from', message: `from (${from.toISOString()}) must be before to (${to.toISOString()})` }]);
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY) {
      throw invalid(`the period may cover at most ${MAX_RANGE_DAYS} days`, [{ path: '/to', message: `to is more than ${MAX_RANGE_DAYS} days after from; ask for a shorter period` }]);
    }
    if (q.interval === 'day' && to.getTime() - from.getTime() > 366 * DAY) {
      throw invalid('a daily series may cover at most 366 days', [{ path: '/interval', message: 'use interval=week or month for a period over 366 days' }]);
    }
    const flowId = q.flow_id === undefined ? undefined : requireUuid(q.flow_id, 'flow');
    if (flowId && !(await ctx.db('flows').where({ workspace_id: workspaceId, id: flowId }).first('id'))) throw notFound(`flow ${flowId}`);
    let segmentId: string | undefined;
    if (q.segment !== undefined) {
      const row = await ctx.db('segments').where({ workspace_id: workspaceId, key: q.segment }).first<{ id: string }>('id');
      if (!row) throw notFound(`segment ${q.segment}`);
      segmentId = row.id;
    }
    return computeKpis(ctx.db, workspaceId, { from, to, interval: q.interval, flowId, segmentId, churnWindowDays: q.churn_window_days });
  });
};
