import { useQuery } from '@tanstack/react-query';
import { api, ok } from './client.ts';

/** Backtests as docs/api.md §Backtests describes them (types: api/types.ts `Backtest`, `BacktestComparison`). */
export const useBacktests = (flowId: string) =>
  useQuery({ queryKey: ['/v1/flows', flowId, 'backtests'], queryFn: ({ signal }) => ok(api.GET('/v1/flows/{id}/backtests', { params: { path: { id: flowId } }, signal })) });

/** One backtest, polled while it runs (the job writes its progress and counts every 250 ms). */
export const useBacktest = (flowId: string, id: string | null) =>
  useQuery({
    queryKey: ['/v1/flows', flowId, 'backtests', id],
    queryFn: ({ signal }) => ok(api.GET('/v1/flows/{id}/backtests/{bid}', { params: { path: { id: flowId, bid: id! } }, signal })),
    enabled: !!id,
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 400 : false),
  });

export const useBacktestComparison = (flowId: string, a: string | null, b: string | null) =>
  useQuery({
    queryKey: ['/v1/flows', flowId, 'backtests', 'compare', a, b],
    queryFn: ({ signal }) => ok(api.GET('/v1/flows/{id}/backtests/compare', { params: { path: { id: flowId }, query: { a: a!, b: b! } }, signal })),
    enabled: !!a && !!b && a !== b,
    refetchInterval: (q) => (q.state.data && (q.state.data.a.status === 'running' || q.state.data.b.status === 'running') ? 1000 : false),
  });
