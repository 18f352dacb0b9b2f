import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, qs } from './client.ts';

/** `GET /v1/kpis` as docs/kpis.md describes it. A figure whose data is absent is null, never 0. */
export interface Rate { entered: number; converted: number | null; conversion_rate: number | null }
export interface Lift { absolute: number; ci_low: number; ci_high: number; confidence: number; treated: Rate; holdout: Rate }
export interface FlowKpi extends Rate {
  flow_id: string;
  name: string;
  has_goal: boolean;
  holdout?: Rate;
  lift?: Lift | null;
  versions: (Rate & { version: number })[];
  splits: { node_id: string; holdout_pct: number; branches: (Rate & { key: string })[] }[];
}
/** The lifecycle-stage funnel of the contacts created in the period (docs/kpis.md §Lifecycle-stage funnel). */
export interface Funnel {
  contacts: number;
  no_stage: number;
  other_stages: Record<string, number>;
  stages: { stage: string; current: number; reached: number; rate_from_previous: number | null }[];
}
export interface SegmentClv { segment: string; name: string; revenue: number; buyers: number; churn_rate: number | null; clv_avg: number | null }
export interface Kpis {
  from: string;
  to: string;
  interval: 'day' | 'week' | 'month';
  flows: FlowKpi[];
  churn_rate: number | null;
  retention_rate: number | null;
  active_at_start: number;
  churned: number;
  nps: number | null;
  nps_responses: number;
  nps_distribution: number[];
  csat: number | null;
  csat_responses: number;
  clv_avg: number | null;
  revenue: number;
  buyers: number;
  cac: number | null;
  spend: number | null;
  new_customers: number;
  series: { start: string; end: string; entered: number; converted: number; orders: number; revenue: number }[];
  cohorts: { cohort: string; size: number; retained: number[] }[];
  funnel?: Funnel;
  clv_by_segment?: SegmentClv[];
}

export interface KpiFilters { from: string; to: string; interval: Kpis['interval']; segment?: string; flow_id?: string }

export const kpiPath = (f: KpiFilters) => `/v1/kpis${qs({ ...f })}`;

export const useKpis = (f: KpiFilters | null) =>
  useQuery({
    queryKey: ['/v1/kpis', f],
    queryFn: ({ signal }) => api.get<Kpis>(kpiPath(f!), signal),
    enabled: !!f,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
