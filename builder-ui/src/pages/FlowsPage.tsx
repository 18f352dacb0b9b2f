import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, ok } from '../api/client.ts';
import { fetchFlow, fetchFlowStats, itemsOf, useApiMutation, useFlows } from '../api/hooks.ts';
import type { FlowDocument, FlowStats, FlowSummary } from '../api/types.ts';
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
function FlowNumbers({ flow }: { flow: FlowSummary }) {
  const needStats = flow.active_runs === undefined && (flow.published_version ?? 0) > 0;
  const stats = useQuery({
    queryKey: ['/v1/flows', flow.id, 'stats', 'summary'],
    queryFn: ({ signal }) => fetchFlowStats(flow.id, undefined, signal),
    enabled: needStats,
    staleTime: 15_000,
    retry: false,
  });
  const active = flow.active_runs ?? stats.data?.runs?.active;
  const rate = flow.has_goal === false ? <span className="muted">No goal</span> : typeof flow.conversion_rate === 'number' ? `${(flow.conversion_rate * 100).toFixed(1)}%` : conversion(stats.data?.runs);
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
  const [query, setQuery] = useState('');
  const [archiving, setArchiving] = useState<FlowSummary | null>(null);
  /** The flow just archived, for the undo offer (with the status to go back to). */
  const [undo, setUndo] = useState<{ flow: FlowSummary; was: string } | null>(null);
  const create = useApiMutation((doc: FlowDocument) => ok(api.POST('/v1/flows', { body: doc })), [['/v1/flows']]);
  const lifecycle = useApiMutation(
    async ({ flow, action }: { flow: FlowSummary; action: 'pause' | 'resume' | 'archive' | 'unarchive' | 'undo-archive' }) => {
      const post = (to: 'pause' | 'resume' | 'archive' | 'unarchive') => ok(api.POST(`/v1/flows/{id}/${to}`, { params: { path: { id: flow.id } } }));
      if (action !== 'undo-archive') return post(action);
      // Undo puts the flow back as it was: unarchived, and running again if it was.
      const back = await post('unarchive');
      return undo?.was === 'active' ? post('resume') : back;
    },
    [['/v1/flows']],
  );
  const duplicate = useApiMutation(async (flow: FlowSummary) => {
    const full = await fetchFlow(flow.id);
    return ok(api.POST('/v1/flows', { body: { ...full.draft, name: `${full.draft.name} (copy)` } }));
  }, [['/v1/flows']]);

  const all = itemsOf(flows.data);
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const list = all.filter((f) => (showArchived || f.status !== 'archived') && words.every((w) => f.name.toLowerCase().includes(w)));
  const hiddenArchived = words.length > 0 && !showArchived ? all.filter((f) => f.status === 'archived' && words.every((w) => f.name.toLowerCase().includes(w))).length : 0;
  const archiveNow = async (flow: FlowSummary) => {
    setArchiving(null);
    await lifecycle.mutateAsync({ flow, action: 'archive' });
    setUndo({ flow, was: flow.status });
  };
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
            <input type="search" className="search" aria-label="Search flows" placeholder="Search flows" value={query} onChange={(e) => setQuery(e.target.value)} />
            <label className="check"><input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> Show archived</label>
            {canEdit ? <button className="btn btn-primary" onClick={() => { setName(''); setCreating(true); }}><Icon name="plus" /> New flow</button> : null}
          </>
        }
      />
      {flows.isPending ? <Spinner label="Loading flows" /> : flows.error ? <ErrorBox error={flows.error} onRetry={() => flows.refetch()} /> : list.length === 0 && all.length > 0 ? (
        <EmptyState title="No flow matches">
          No flow name contains “{query.trim()}”{hiddenArchived ? `; ${hiddenArchived} archived flow${hiddenArchived === 1 ? ' does' : 's do'} (tick Show archived)` : ''}.
        </EmptyState>
      ) : list.length === 0 ? (
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
                      {flow.status === 'active' ? (
                        <button className="btn btn-sm btn-ghost" onClick={() => lifecycle.mutate({ flow, action: 'pause' })} aria-label={`Pause ${flow.name}`}>Pause</button>
                      ) : flow.status === 'paused' ? (
                        <button className="btn btn-sm btn-ghost" onClick={() => lifecycle.mutate({ flow, action: 'resume' })} aria-label={`Resume ${flow.name}`}>Resume</button>
                      ) : null}
                      <button className="btn btn-sm btn-ghost" onClick={() => duplicate.mutate(flow)} aria-label={`Duplicate ${flow.name}`}>Duplicate</button>
                      {flow.status !== 'archived' ? (
                        <button className="btn btn-sm btn-ghost danger" onClick={() => setArchiving(flow)} aria-label={`Archive ${flow.name}`}>Archive</button>
                      ) : (
                        <button className="btn btn-sm btn-ghost" onClick={() => lifecycle.mutate({ flow, action: 'unarchive' })} aria-label={`Unarchive ${flow.name}`}>Unarchive</button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {duplicate.error || lifecycle.error ? <ErrorBox error={duplicate.error ?? lifecycle.error} /> : null}
      {archiving ? (
        <Modal
          title={`Archive “${archiving.name}”?`}
          onClose={() => setArchiving(null)}
          footer={
            <>
              <button className="btn" onClick={() => setArchiving(null)}>Cancel</button>
              <button className="btn btn-primary danger" onClick={() => void archiveNow(archiving).catch(() => undefined)}>Archive</button>
            </>
          }
        >
          <p>It stops starting new runs and its draft can no longer change. Runs already under way finish. You can undo this, or unarchive it later.</p>
        </Modal>
      ) : null}
      {undo ? (
        <div className="toast toast-action" role="status">
          Archived “{undo.flow.name}”.
          <button className="btn btn-sm" onClick={() => { void lifecycle.mutateAsync({ flow: undo.flow, action: 'undo-archive' }).finally(() => setUndo(null)); }}>Undo</button>
          <button className="icon-btn" aria-label="Dismiss" onClick={() => setUndo(null)}><Icon name="close" size={14} /></button>
        </div>
      ) : null}
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
