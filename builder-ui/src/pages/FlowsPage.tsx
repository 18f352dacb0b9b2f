import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage } from '../api/client.ts';
import { itemsOf, useApiMutation, useFlows } from '../api/hooks.ts';
import type { Flow, FlowStats } from '../api/types.ts';
import { emptyDocument } from '../graph/document.ts';
import { navigate } from '../router.ts';
import { useCan } from '../session.ts';
import { EmptyState, ErrorBox, Modal, PageHeader, Spinner, StatusBadge, formatTime } from '../ui/common.tsx';
import { Icon } from '../ui/icons.tsx';

function conversion(stats: FlowStats['runs'] | undefined): string {
  if (!stats) return '—';
  const finished = stats.completed + stats.converted + stats.exited + stats.failed;
  return finished > 0 ? `${((stats.converted / finished) * 100).toFixed(1)}%` : '—';
}

/** Active runs and conversion: from the list item when the engine includes them, else from the flow's stats. */
function FlowNumbers({ flow }: { flow: Flow }) {
  const needStats = flow.active_runs === undefined && (flow.published_version ?? 0) > 0;
  const stats = useQuery({
    queryKey: ['/v1/flows', flow.id, 'stats', 'summary'],
    queryFn: ({ signal }) => api.get<FlowStats>(`/v1/flows/${flow.id}/stats`, signal),
    enabled: needStats,
    staleTime: 15_000,
    retry: false,
  });
  const active = flow.active_runs ?? stats.data?.runs?.active;
  const rate = typeof flow.conversion_rate === 'number' ? `${(flow.conversion_rate * 100).toFixed(1)}%` : conversion(stats.data?.runs);
  return (
    <>
      <td className="num">{active ?? '—'}</td>
      <td className="num">{rate}</td>
    </>
  );
}

export function FlowsPage() {
  const flows = useFlows();
  const canEdit = useCan('edit');
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [showArchived, setShowArchived] = useState(false);
  const create = useApiMutation((doc: ReturnType<typeof emptyDocument>) => api.post<Flow>('/v1/flows', doc), [['/v1/flows']]);
  const archive = useApiMutation((id: string) => api.post(`/v1/flows/${id}/archive`), [['/v1/flows']]);
  const duplicate = useApiMutation(async (flow: Flow) => {
    const full = await api.get<Flow>(`/v1/flows/${flow.id}`);
    return api.post<Flow>('/v1/flows', { ...full.draft, name: `${full.draft.name} (copy)` });
  }, [['/v1/flows']]);

  const all = itemsOf(flows.data);
  const list = all.filter((f) => showArchived || f.status !== 'archived');
  const submitCreate = async () => {
    const flow = await create.mutateAsync(emptyDocument(name.trim() || 'Untitled flow'));
    setCreating(false);
    navigate(`/flows/${flow.id}`);
  };

  return (
    <div className="page">
      <PageHeader
        title="Flows"
        subtitle="Automations that move contacts through their lifecycle"
        actions={
          <>
            <label className="check"><input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> Show archived</label>
            {canEdit ? <button className="btn btn-primary" onClick={() => { setName(''); setCreating(true); }}><Icon name="plus" /> New flow</button> : null}
          </>
        }
      />
      {flows.isPending ? <Spinner label="Loading flows" /> : flows.error ? <ErrorBox error={flows.error} onRetry={() => flows.refetch()} /> : list.length === 0 ? (
        <EmptyState
          title="No flows yet"
          action={canEdit ? <button className="btn btn-primary" onClick={() => setCreating(true)}><Icon name="plus" /> Create your first flow</button> : null}
        >
          A flow starts from a trigger — an event, a segment or a date — and moves each contact through conditions, delays and actions.
        </EmptyState>
      ) : (
        <div className="card">
          <table className="table" aria-label="Flows">
            <thead>
              <tr>
                <th>Name</th><th>Status</th><th>Published</th><th className="num">Active runs</th><th className="num">Conversion</th><th>Updated</th>
                {canEdit ? <th aria-label="Actions" /> : null}
              </tr>
            </thead>
            <tbody>
              {list.map((flow) => (
                <tr key={flow.id}>
                  <td>
                    <a href={`/flows/${flow.id}`} className="strong" onClick={(e) => { e.preventDefault(); navigate(`/flows/${flow.id}`); }}>{flow.name}</a>
                  </td>
                  <td><StatusBadge status={flow.status} /></td>
                  <td>{flow.published_version ? `v${flow.published_version}` : <span className="muted">never</span>}</td>
                  <FlowNumbers flow={flow} />
                  <td className="muted">{formatTime(flow.updated_at ?? flow.created_at)}</td>
                  {canEdit ? (
                    <td className="row-actions">
                      <button className="btn btn-sm btn-ghost" onClick={() => duplicate.mutate(flow)} aria-label={`Duplicate ${flow.name}`}>Duplicate</button>
                      {flow.status !== 'archived' ? (
                        <button className="btn btn-sm btn-ghost danger" onClick={() => { if (confirm(`Archive “${flow.name}”? It stops starting new runs.`)) archive.mutate(flow.id); }} aria-label={`Archive ${flow.name}`}>Archive</button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {duplicate.error || archive.error ? <ErrorBox error={duplicate.error ?? archive.error} /> : null}
      {creating ? (
        <Modal
          title="New flow"
          onClose={() => setCreating(false)}
          footer={
            <>
              <button className="btn" onClick={() => setCreating(false)}>Cancel</button>
              <button className="btn btn-primary" onClick={submitCreate} disabled={create.isPending}>Create flow</button>
            </>
          }
        >
          <label className="field">
            <span>Name</span>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Inbound lead routing" onKeyDown={(e) => e.key === 'Enter' && submitCreate()} />
          </label>
          {create.error ? <p className="error-text">{errorMessage(create.error)}</p> : null}
        </Modal>
      ) : null}
    </div>
  );
}
