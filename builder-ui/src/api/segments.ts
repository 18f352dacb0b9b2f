import { useQuery } from '@tanstack/react-query';
import { api } from './client.ts';
import type { Contact, Page } from './types.ts';

/** Segments as `GET /v1/segments` answers them (CONTRACT.md §Lifecycle objects, docs/segments.md). */
export interface Segment {
  key: string;
  name: string;
  rule: Record<string, unknown>;
  member_count: number;
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
    refetchInterval,
    staleTime: 5_000,
  });

export const useSegment = (key: string) =>
  useQuery({ queryKey: ['/v1/segments', key], queryFn: ({ signal }) => api.get<Segment>(`/v1/segments/${encodeURIComponent(key)}`, signal) });
