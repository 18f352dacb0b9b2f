import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ApiOperations } from '@cairn/engine/contracts';
import { api, ok } from './client.ts';

/** The dashboard's filters: `GET /v1/kpis`'s query (docs/kpis.md) with the period always given. */
export type KpiFilters = NonNullable<ApiOperations['getKpis']['parameters']['query']> & { from: string; to: string };

export const fetchKpis = (f: KpiFilters, signal?: AbortSignal) => ok(api.GET('/v1/kpis', { params: { query: f }, signal }));

export const useKpis = (f: KpiFilters | null) =>
  useQuery({
    queryKey: ['/v1/kpis', f],
    queryFn: ({ signal }) => fetchKpis(f!, signal),
    enabled: !!f,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
