/**
 * The answer of `GET /v1/kpis` (crm/kpis.ts `computeKpis`, docs/kpis.md), field by field: serialised through it and
 * published as the `Kpis` component, so the dashboard reads generated types. A figure whose data is absent is null.
 */

const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;

/** Runs entered and converted; converted and the rate are null when the flow has no goal. */
const rateFields = { entered: int, converted: nullableInt, conversion_rate: nullableNum } as const;
const RATE_REQUIRED = ['entered', 'converted', 'conversion_rate'] as const;
const rate = { type: 'object', required: RATE_REQUIRED, properties: rateFields } as const;

const lift = {
  type: 'object', required: ['absolute', 'ci_low', 'ci_high', 'confidence', 'treated', 'holdout'],
  description: 'treated minus holdout conversion, with its 95% interval',
  properties: { absolute: num, ci_low: num, ci_high: num, confidence: num, treated: rate, holdout: rate },
} as const;

const flowKpi = {
  type: 'object', required: ['flow_id', 'name', 'has_goal', ...RATE_REQUIRED, 'versions', 'splits'],
  properties: {
    flow_id: { type: 'string', format: 'uuid' }, name: { type: 'string' }, has_goal: { type: 'boolean' }, ...rateFields,
    holdout: { ...rate, description: 'present when a split of the newest version holds contacts out' },
    lift: { anyOf: [{ type: 'null' }, lift], description: 'present with holdout; null when the flow has no goal event to measure' },
    versions: { type: 'array', items: { type: 'object', required: ['version', ...RATE_REQUIRED], properties: { version: int, ...rateFields } } },
    splits: {
      type: 'array',
      items: {
        type: 'object', required: ['node_id', 'holdout_pct', 'branches'],
        properties: {
          node_id: { type: 'string' }, holdout_pct: num,
          branches: { type: 'array', items: { type: 'object', required: ['key', ...RATE_REQUIRED], properties: { key: { type: 'string' }, ...rateFields } } },
        },
      },
    },
  },
} as const;

const funnel = {
  type: 'object', required: ['contacts', 'stages', 'no_stage', 'other_stages'],
  description: 'lifecycle stages of the contacts created in the period (docs/kpis.md §Lifecycle-stage funnel)',
  properties: {
    contacts: int,
    stages: {
      type: 'array',
      items: { type: 'object', required: ['stage', 'current', 'reached', 'rate_from_previous'], properties: { stage: { type: 'string' }, current: int, reached: int, rate_from_previous: nullableNum } },
    },
    no_stage: int,
    other_stages: { type: 'object', additionalProperties: int, description: 'contacts by a stage value outside the funnel' },
  },
} as const;

const email = {
  type: 'object', required: ['nodes', 'bounced', 'complained', 'unsubscribed'],
  properties: {
    nodes: {
      type: 'array',
      items: {
        type: 'object', required: ['flow_id', 'node_id', 'sent', 'opened', 'clicked', 'delivered', 'open_rate', 'click_rate'],
        properties: {
          flow_id: { type: 'string' }, node_id: { type: 'string' }, sent: int, opened: int, clicked: int,
          delivered: { type: ['integer', 'null'], description: 'null: delivery receipts are not recorded yet' }, open_rate: nullableNum, click_rate: nullableNum,
        },
      },
    },
    bounced: int, complained: int, unsubscribed: int,
  },
} as const;

export const Kpis = {
  $id: 'Kpis', type: 'object', description: 'figures defined in docs/kpis.md; null where the data is absent',
  required: [
    'from', 'to', 'interval', 'churn_window_days', 'flows', 'churn_rate', 'retention_rate', 'active_at_start', 'churned', 'nps', 'nps_responses',
    'nps_distribution', 'csat', 'csat_responses', 'clv_avg', 'revenue', 'buyers', 'cac', 'spend', 'new_customers', 'clv_by_segment', 'funnel',
    'series', 'cohorts', 'email',
  ],
  properties: {
    from: dateTime, to: dateTime, interval: { enum: ['day', 'week', 'month'] }, churn_window_days: int,
    flows: { type: 'array', items: flowKpi },
    churn_rate: nullableNum, retention_rate: nullableNum, active_at_start: int, churned: int,
    nps: nullableNum, nps_responses: int, nps_distribution: { type: 'array', items: int, description: 'responses per score 0–10' },
    csat: nullableNum, csat_responses: int,
    clv_avg: nullableNum, revenue: num, buyers: int, cac: nullableNum, spend: nullableNum, new_customers: int,
    clv_by_segment: {
      type: 'array',
      items: {
        type: 'object', required: ['segment', 'name', 'revenue', 'buyers', 'churn_rate', 'clv_avg'],
        properties: { segment: { type: 'string' }, name: { type: 'string' }, revenue: num, buyers: int, churn_rate: nullableNum, clv_avg: nullableNum },
      },
    },
    funnel,
    series: {
      type: 'array',
      items: { type: 'object', required: ['start', 'end', 'entered', 'converted', 'orders', 'revenue'], properties: { start: dateTime, end: dateTime, entered: int, converted: int, orders: int, revenue: num } },
    },
    cohorts: {
      type: 'array',
      items: {
        type: 'object', required: ['cohort', 'size', 'retained'],
        properties: { cohort: { type: 'string', description: 'YYYY-MM of the first order' }, size: int, retained: { type: 'array', items: num, description: 'share of the cohort buying in month k' } },
      },
    },
    email,
  },
} as const;
