import { useQuery } from '@tanstack/react-query';
import { api } from './client.ts';

/** Backtests as docs/api.md §Backtests describes them. */
export interface BacktestNode {
  entered: number;
  completed: number;
  failed: number;
  waited: number;
  timed_out: number;
  converted: number;
  exited: number;
  waiting: number;
  branches: Record<string, number>;
  samples: { contact_id: string; why: string }[];
}
export interface Backtest {
  id: string;
  flow_id: string;
  version: 'draft' | number;
  from: string;
  to: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress: number;
  processed_events: number;
  total_events: number | null;
  nodes: Record<string, BacktestNode>;
  actions: Record<string, number>;
  runs: { started: number; active: number; completed: number; converted: number; exited: number; failed: number } | null;
  conversion: { goal: boolean; converted: number; started: number; rate: number | null } | null;
  error: unknown;
  created_at: string;
  finished_at: string | null;
}
export interface BacktestComparison {
  a: Backtest;
  b: Backtest;
  same_period: boolean;
  diff: { nodes: Record<string, Record<string, number> & { only_in?: 'a' | 'b' }>; actions: Record<string, number>; conversion_rate: number | null };
}

export const useBacktests = (flowId: string) =>
  useQuery({ queryKey: ['/v1/flows', flowId, 'backtests'], queryFn: ({ signal }) => api.get<{ items: Backtest[] }>(`/v1/flows/${flowId}/backtests`, signal) });

/** One backtest, polled while it runs (the job writes its progress and counts every 250 ms). */
export const useBacktest = (flowId: string, id: string | null) =>
  useQuery({
    queryKey: ['/v1/flows', flowId, 'backtests', id],
    queryFn: ({ signal }) => api.get<Backtest>(`/v1/flows/${flowId}/backtests/${id}`, signal),
    enabled: !!id,
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 400 : false),
  });

export const useBacktestComparison = (flowId: string, a: string | null, b: string | null) =>
  useQuery({
    queryKey: ['/v1/flows', flowId, 'backtests', 'compare', a, b],
    queryFn: ({ signal }) => api.get<BacktestComparison>(`/v1/flows/${flowId}/backtests/compare?a=${a}&b=${b}`, signal),
    enabled: !!a && !!b && a !== b,
    refetchInterval: (q) => (q.state.data && (q.state.data.a.status === 'running' || q.state.data.b.status === 'running') ? 1000 : false),
  });
