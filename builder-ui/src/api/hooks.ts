import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ok, setCsrfToken } from './client.ts';
import { draftSaved } from './drafts.ts';
import type { ContactFilters, Flow, FlowDocument, FlowVersion, RunFilters } from './types.ts';

/** react-query hooks, one per resource; keys are the API paths so invalidation follows the URL space. */

export const useMe = () =>
  useQuery({
    queryKey: ['/v1/auth/me'],
    // The CSRF token is set here, before any screen renders: an effect would run after the screens' own effects
    // (children first), and the editor's first validate request would go out without it.
    queryFn: async ({ signal }) => {
      const me = await ok(api.GET('/v1/auth/me', { signal }));
      setCsrfToken(me.csrf_token ?? null);
      return me;
    },
    retry: false,
    staleTime: 60_000,
  });

export const fetchCatalog = (signal?: AbortSignal) => ok(api.GET('/v1/catalog', { signal }));

export const useCatalog = () => useQuery({ queryKey: ['/v1/catalog'], queryFn: ({ signal }) => fetchCatalog(signal), staleTime: 5 * 60_000 });

export const useFlows = () =>
  useQuery({ queryKey: ['/v1/flows'], queryFn: ({ signal }) => ok(api.GET('/v1/flows', { params: { query: { limit: 200 } }, signal })) });

/** The canvas reads a draft as its editing model of a cairn.flow/v1 document (api/types.ts `FlowDocument`). */
export const asFlow = (flow: Omit<Flow, 'draft'> & { draft: unknown }): Flow => ({ ...flow, draft: flow.draft as FlowDocument });

/**
 * The flow as the server has it now: a save still on its way (from an editor just left) lands first. A cached copy
 * older than 2 s is fetched again before the editor opens (the editor also writes each save back to the cache).
 */
export const fetchFlow = async (id: string, signal?: AbortSignal): Promise<Flow> => {
  await draftSaved(id);
  return asFlow(await ok(api.GET('/v1/flows/{id}', { params: { path: { id } }, signal })));
};

export const fetchFlowVersion = async (id: string, n: number, signal?: AbortSignal): Promise<FlowVersion> => {
  const v = await ok(api.GET('/v1/flows/{id}/versions/{n}', { params: { path: { id, n } }, signal }));
  return { ...v, document: v.document as FlowDocument };
};

export const useFlow = (id: string | undefined) =>
  useQuery({ queryKey: ['/v1/flows', id], queryFn: ({ signal }) => fetchFlow(id!, signal), enabled: !!id, staleTime: 2000 });

export const useFlowVersion = (id: string | undefined, version: number | null | undefined) =>
  useQuery({
    queryKey: ['/v1/flows', id, 'versions', version],
    queryFn: ({ signal }) => fetchFlowVersion(id!, version!, signal),
    enabled: !!id && typeof version === 'number' && version > 0,
    staleTime: Infinity,
  });

export const fetchFlowStats = (id: string, version?: number, signal?: AbortSignal) =>
  ok(api.GET('/v1/flows/{id}/stats', { params: { path: { id }, query: { version } }, signal }));

export const useFlowStats = (id: string | undefined, version: number | null | undefined, live: boolean) =>
  useQuery({
    queryKey: ['/v1/flows', id, 'stats', version ?? 'latest'],
    queryFn: ({ signal }) => fetchFlowStats(id!, version ?? undefined, signal),
    enabled: !!id && live,
    refetchInterval: live ? 2000 : false,
    placeholderData: keepPreviousData,
  });

export const useRuns = (filters: RunFilters, refresh = false) =>
  useQuery({
    queryKey: ['/v1/runs', filters],
    queryFn: ({ signal }) => ok(api.GET('/v1/runs', { params: { query: { ...filters, limit: 100 } }, signal })),
    refetchInterval: refresh ? 3000 : false,
    placeholderData: keepPreviousData,
  });

export const useRun = (id: string | undefined) =>
  useQuery({
    queryKey: ['/v1/runs', id],
    queryFn: ({ signal }) => ok(api.GET('/v1/runs/{id}', { params: { path: { id: id! } }, signal })),
    enabled: !!id,
    refetchInterval: (q) => (q.state.data && ['active', 'waiting'].includes(q.state.data.status) ? 2000 : false),
  });

export const useContacts = (filters: ContactFilters) =>
  useQuery({
    queryKey: ['/v1/contacts', filters],
    queryFn: ({ signal }) => ok(api.GET('/v1/contacts', { params: { query: { ...filters, limit: 100 } }, signal })),
    placeholderData: keepPreviousData,
  });

export const useContact = (id: string | undefined) =>
  useQuery({ queryKey: ['/v1/contacts', id], queryFn: ({ signal }) => ok(api.GET('/v1/contacts/{id}', { params: { path: { id: id! } }, signal })), enabled: !!id });

export const useContactTimeline = (id: string | undefined) =>
  useQuery({
    queryKey: ['/v1/contacts', id, 'timeline'],
    queryFn: ({ signal }) => ok(api.GET('/v1/contacts/{id}/timeline', { params: { path: { id: id! } }, signal })),
    enabled: !!id,
  });

export const useOwners = () =>
  useQuery({
    queryKey: ['/v1/owners'],
    queryFn: ({ signal }) => ok(api.GET('/v1/owners', { params: { query: { limit: 500 } }, signal })),
    staleTime: 60_000,
    retry: false,
  });

/** The workspace's known contact properties, tags and event properties, for the builder's pickers. */
export const useFields = () =>
  useQuery({
    queryKey: ['/v1/fields'],
    queryFn: ({ signal }) => ok(api.GET('/v1/fields', { signal })),
    staleTime: 60_000,
    retry: false,
  });

export const usePlugins = () =>
  useQuery({ queryKey: ['/v1/plugins'], queryFn: ({ signal }) => ok(api.GET('/v1/plugins', { signal })) });

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

/** Items of a list answer (none while it loads). */
export function itemsOf<T>(data: { items: T[] } | undefined): T[] {
  return data?.items ?? [];
}
