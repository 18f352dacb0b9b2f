import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, qs, setCsrfToken } from './client.ts';
import { draftSaved } from './drafts.ts';
import type {
  Catalog,
  Contact,
  Flow,
  FlowSummary,
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
import type { KnownFields } from '../graph/rules.ts';

/** react-query hooks, one per resource; keys are the API paths so invalidation follows the URL space. */

export const useMe = () =>
  useQuery({
    queryKey: ['/v1/auth/me'],
    // The CSRF token is set here, before any screen renders: an effect would run after the screens' own effects
    // (children first), and the editor's first validate request would go out without it.
    queryFn: async ({ signal }) => {
      const me = await api.get<Me>('/v1/auth/me', signal);
      setCsrfToken(me.csrf_token ?? null);
      return me;
    },
    retry: false,
    staleTime: 60_000,
  });

export const useCatalog = () =>
  useQuery({ queryKey: ['/v1/catalog'], queryFn: ({ signal }) => api.get<Catalog>('/v1/catalog', signal), staleTime: 5 * 60_000 });

export const useFlows = () =>
  useQuery({ queryKey: ['/v1/flows'], queryFn: ({ signal }) => api.get<Page<FlowSummary>>('/v1/flows?limit=200', signal) });

/**
 * The flow as the server has it now: a save still on its way (from an editor just left) lands first. A cached copy
 * older than 2 s is fetched again before the editor opens (the editor also writes each save back to the cache).
 */
export const fetchFlow = async (id: string, signal?: AbortSignal) => {
  await draftSaved(id);
  return api.get<Flow>(`/v1/flows/${id}`, signal);
};

export const useFlow = (id: string | undefined) =>
  useQuery({ queryKey: ['/v1/flows', id], queryFn: ({ signal }) => fetchFlow(id!, signal), enabled: !!id, staleTime: 2000 });

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

/** The workspace's known contact properties, tags and event properties, for the builder's pickers. */
export const useFields = () =>
  useQuery({
    queryKey: ['/v1/fields'],
    queryFn: ({ signal }) => api.get<KnownFields>('/v1/fields', signal),
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
