import type { Kpis } from '../../api/types.ts';
import type { Cell } from './csv.ts';

/**
 * Each chart of the dashboard as a table of the API's own figures: the chart draws it and its CSV export writes it,
 * so the file and the picture say the same and both equal `GET /v1/kpis`.
 */
export interface Table { header: string[]; rows: Cell[][] }

export function conversionTable(k: Kpis): Table {
  return {
    header: ['flow_id', 'name', 'has_goal', 'entered', 'converted', 'conversion_rate', 'holdout_entered', 'holdout_converted', 'holdout_rate', 'lift_absolute', 'lift_ci_low', 'lift_ci_high'],
    rows: k.flows.map((f) => [
      f.flow_id, f.name, f.has_goal, f.entered, f.converted, f.conversion_rate,
      f.holdout?.entered, f.holdout?.converted, f.holdout?.conversion_rate,
      f.lift?.absolute, f.lift?.ci_low, f.lift?.ci_high,
    ]),
  };
}

export function npsTable(k: Kpis): Table {
  return { header: ['score', 'responses'], rows: k.nps_distribution.map((n, score) => [score, n]) };
}

export function cohortTable(k: Kpis): Table {
  const months = Math.max(0, ...k.cohorts.map((c) => c.retained.length));
  return {
    header: ['cohort', 'size', ...Array.from({ length: months }, (_, i) => `month_${i}`)],
    rows: k.cohorts.map((c) => [c.cohort, c.size, ...Array.from({ length: months }, (_, i) => c.retained[i])]),
  };
}

export function seriesTable(k: Kpis): Table {
  return { header: ['start', 'end', 'entered', 'converted', 'orders', 'revenue'], rows: k.series.map((s) => [s.start, s.end, s.entered, s.converted, s.orders, s.revenue]) };
}

export function funnelTable(k: Kpis): Table {
  return { header: ['stage', 'current', 'reached', 'rate_from_previous'], rows: (k.funnel?.stages ?? []).map((s) => [s.stage, s.current, s.reached, s.rate_from_previous]) };
}

export function clvTable(k: Kpis): Table {
  return { header: ['segment', 'name', 'revenue', 'buyers', 'churn_rate', 'clv_avg'], rows: (k.clv_by_segment ?? []).map((s) => [s.segment, s.name, s.revenue, s.buyers, s.churn_rate, s.clv_avg]) };
}

/** The headline figures, each with its definition's name in docs/kpis.md. */
export const TILE_KEYS = ['churn_rate', 'retention_rate', 'nps', 'csat', 'clv_avg', 'cac', 'revenue', 'buyers', 'new_customers', 'spend'] as const;
export type TileKey = (typeof TILE_KEYS)[number];

export function tilesTable(k: Kpis): Table {
  return { header: ['kpi', 'value'], rows: TILE_KEYS.map((key) => [key, k[key]]) };
}
