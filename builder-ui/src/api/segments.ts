import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, ok } from './client.ts';

/** Every segment of the workspace with its member count; refreshed so counts stay live while the page is open. */
export const useSegments = (refetchInterval: number | false = false) =>
  useQuery({
    queryKey: ['/v1/segments'],
    queryFn: ({ signal }) => ok(api.GET('/v1/segments', { params: { query: { limit: 500 } }, signal })),
    // While a segment is being evaluated its count grows chunk by chunk: follow it closely.
    refetchInterval: (q) => (refetchInterval && q.state.data?.items.some((s) => s.status === 'evaluating') ? 1000 : refetchInterval),
    staleTime: 5_000,
  });

/** One segment with its size history; `version` (e.g. its member count) fetches it again when the list saw a change. */
export const useSegment = (key: string, version: unknown = null) =>
  useQuery({
    queryKey: ['/v1/segments', key, version],
    queryFn: ({ signal }) => ok(api.GET('/v1/segments/{key}', { params: { path: { key } }, signal })),
    placeholderData: keepPreviousData,
  });
