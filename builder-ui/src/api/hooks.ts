import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, qs } from './client.ts';
import type {
  Catalog,
  Contact,
  Flow,
  FlowDocument,
  FlowStats,
  FlowVersion,
  Me,
  Owner,
  Page,
  Plugin,
  Run,
  TimelineItem,
} from './types.ts';

/** react-query hooks, one per resource; keys are the API paths so invalidation follows the URL space. */

export const useMe = () =>
  useQuery({
    queryKey: ['/v1/auth/me'],
    queryFn: ({ signal }) => api.get<Me>('/v1/auth/me', signal),
    retry: false,
    staleTime: 60_000,
  });

export const useCatalog = () =>
  useQuery({ queryKey: ['/v1/catalog'], queryFn: ({ signal }) => api.get<Catalog>('/v1/catalog', signal), staleTime: 5 * 60_000 });

export const useFlows = () =>
  useQuery({ queryKey: ['/v1/flows'], queryFn: ({ signal }) => api.get<Page<Flow>>('/v1/flows?limit=200', signal) });

export const useFlow = (id: string | undefined) =>
  useQuery({ queryKey: ['/v1/flows', id], queryFn: ({ signal }) => api.get<Flow>(`/v1/flows/${id}`, signal), enabled: !!id });

export const useFlowVersion = (id: string | undefined, version: number | null | undefined) =>
  useQuery({
    queryKey: ['/v1/flows', id, 'versions', version],
    queryFn: ({ signal }) => api.get<FlowVersion | FlowDocument>(`/v1/flows/${id}/versions/${version}`, signal),
    enabled: !!id && typeof version === 'number' && version > 0,
    staleTime: Infinity,
  });

export const useFlowStats = (id: string | undefined, version: number | null | undefined, live: boolean) =>
  useQuery({
    queryKey: ['/v1/flows', id, 'stats', version ?? 'latest'],
    queryFn: ({ signal }) => api.get<FlowStats>(`/v1/flows/${id}/stats${qs({ version: version ?? undefined })}`, signal),
    enabled: !!id && live,
    refetchInterval: live ? 2000 : false,
    placeholderData: keepPreviousData,
  });

export interface RunFilters {
  flow_id?: string;
  status?: string;
  contact_id?: string;
}
export const useRuns = (filters: RunFilters, refresh = false) =>
  useQuery({
    queryKey: ['/v1/runs', filters],
    queryFn: ({ signal }) => api.get<Page<Run>>(`/v1/runs${qs({ ...filters, limit: 100 })}`, signal),
    refetchInterval: refresh ? 3000 : false,
    placeholderData: keepPreviousData,
  });

export const useRun = (id: string | undefined) =>
  useQuery({
    queryKey: ['/v1/runs', id],
    queryFn: ({ signal }) => api.get<Run>(`/v1/runs/${id}`, signal),
    enabled: !!id,
    refetchInterval: (q) => (q.state.data && ['active', 'waiting'].includes(q.state.data.status) ? 2000 : false),
  });

export const useContacts = (params: Record<string, string>) =>
  useQuery({
    queryKey: ['/v1/contacts', params],
    queryFn: ({ signal }) => api.get<Page<Contact>>(`/v1/contacts${qs({ ...params, limit: 100 })}`, signal),
    placeholderData: keepPreviousData,
  });

export const useContact = (id: string | undefined) =>
  useQuery({ queryKey: ['/v1/contacts', id], queryFn: ({ signal }) => api.get<Contact>(`/v1/contacts/${id}`, signal), enabled: !!id });

export const useContactTimeline = (id: string | undefined) =>
  useQuery({
    queryKey: ['/v1/contacts', id, 'timeline'],
    queryFn: ({ signal }) => api.get<Page<TimelineItem> | TimelineItem[]>(`/v1/contacts/${id}/timeline`, signal),
    enabled: !!id,
  });

export const useOwners = () =>
  useQuery({
    queryKey: ['/v1/owners'],
    queryFn: ({ signal }) => api.get<Page<Owner>>('/v1/owners?limit=500', signal),
    staleTime: 60_000,
    retry: false,
  });

export const usePlugins = () =>
  useQuery({ queryKey: ['/v1/plugins'], queryFn: ({ signal }) => api.get<Page<Plugin>>('/v1/plugins', signal) });

/** A mutation that invalidates the given query key prefixes when it succeeds. */
export function useApiMutation<TVars, TResult>(fn: (vars: TVars) => Promise<TResult>, invalidate: unknown[][] = []) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: async () => {
      await Promise.all(invalidate.map((queryKey) => qc.invalidateQueries({ queryKey })));
    },
  });
}

/** Items of a list response, tolerating a bare array. */
export function itemsOf<T>(data: Page<T> | T[] | undefined): T[] {
  if (!data) return [];
  return Array.isArray(data) ? data : (data.items ?? []);
}
