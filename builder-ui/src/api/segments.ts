import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from './client.ts';
import type { Contact, Page } from './types.ts';

/** Segments as `GET /v1/segments` answers them (CONTRACT.md §Lifecycle objects, docs/segments.md). */
export interface Segment {
  key: string;
  name: string;
  rule: Record<string, unknown>;
  member_count: number;
  /** `evaluating` while a background job evaluates the existing contacts against a new or changed rule. */
  status?: 'evaluating' | 'ready';
  created_at?: string;
  updated_at?: string;
  /** Daily member counts, on `GET /v1/segments/{key}` only. */
  history?: { day: string; members: number }[];
}

export interface SegmentPreview { count: number; sample: Contact[] }

/** Every segment of the workspace with its member count; refreshed so counts stay live while the page is open. */
export const useSegments = (refetchInterval: number | false = false) =>
  useQuery({
    queryKey: ['/v1/segments'],
    queryFn: ({ signal }) => api.get<Page<Segment>>('/v1/segments?limit=500', signal),
    // While a segment is being evaluated its count grows chunk by chunk: follow it closely.
    refetchInterval: (q) => (refetchInterval && q.state.data?.items.some((s) => s.status === 'evaluating') ? 1000 : refetchInterval),
    staleTime: 5_000,
  });

/** One segment with its size history; `version` (e.g. its member count) fetches it again when the list saw a change. */
export const useSegment = (key: string, version: unknown = null) =>
  useQuery({ queryKey: ['/v1/segments', key, version], queryFn: ({ signal }) => api.get<Segment>(`/v1/segments/${encodeURIComponent(key)}`, signal), placeholderData: keepPreviousData });
