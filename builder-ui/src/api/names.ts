import { useQueries } from '@tanstack/react-query';
import { fetchFlowVersion, useCatalog } from './hooks.ts';

/** A run's flow and version: the version's document says what each node id is called. */
export interface VersionRef {
  flow_id: string;
  version: number;
}

/**
 * Names for steps of runs, so screens speak in the flow's words rather than node ids: the node's label, else the
 * title of its type in the catalog ("Assign an owner"). Each version's document is fetched once (versions never
 * change) with the same query key as `useFlowVersion`.
 */
export function useStepNames(refs: VersionRef[]): (ref: VersionRef, nodeId: string | null | undefined) => string {
  const catalog = useCatalog();
  const unique = [...new Map(refs.map((r) => [`${r.flow_id}:${r.version}`, r])).values()];
  const docs = useQueries({
    queries: unique.map((r) => ({
      queryKey: ['/v1/flows', r.flow_id, 'versions', r.version],
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchFlowVersion(r.flow_id, r.version, signal),
      staleTime: Infinity,
    })),
  });
  const byRef = new Map(unique.map((r, i) => [`${r.flow_id}:${r.version}`, docs[i]]));
  const titles = new Map((catalog.data?.nodes ?? []).map((n) => [n.type, n.title]));
  return (ref, nodeId) => {
    if (!nodeId) return '—';
    const query = byRef.get(`${ref.flow_id}:${ref.version}`);
    const doc = query?.data?.document;
    // While the version's document is still on its way, say so rather than call a named step "a step".
    if (!doc) return query?.isPending ? '…' : 'a step';
    const node = doc.nodes.find((n) => n.id === nodeId);
    if (!node) return 'a step';
    return node.label || titles.get(node.type) || node.type;
  };
}
