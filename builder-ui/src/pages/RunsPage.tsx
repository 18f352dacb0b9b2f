import { itemsOf, useFlows, useRuns } from '../api/hooks.ts';
import { navigate, useLocation } from '../router.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner, StatusBadge, formatTime, shortId } from '../ui/common.tsx';

const STATUSES = ['active', 'waiting', 'completed', 'converted', 'exited', 'failed', 'cancelled'];

/** Runs with filters kept in the URL (flow, status, contact) so they can be linked to from other screens. */
export function RunsPage() {
  const { search } = useLocation();
  const filters = { flow_id: search.get('flow_id') ?? '', status: search.get('status') ?? '', contact_id: search.get('contact_id') ?? '' };
  const runs = useRuns(filters, true);
  const flows = useFlows();
  const flowName = new Map(itemsOf(flows.data).map((f) => [f.id, f.name]));
  const setFilter = (key: keyof typeof filters, value: string) => {
    const next = new URLSearchParams({ ...filters, [key]: value });
    for (const [k, v] of [...next.entries()]) if (!v) next.delete(k);
    const q = next.toString();
    navigate(`/runs${q ? `?${q}` : ''}`, true);
  };
  const list = itemsOf(runs.data);
  return (
    <div className="page">
      <PageHeader title="Runs" subtitle="Each run is one contact's journey through one version of a flow" />
      <div className="filters" role="search" aria-label="Filter runs">
        <label className="field-inline">
          <span>Flow</span>
          <select value={filters.flow_id} onChange={(e) => setFilter('flow_id', e.target.value)}>
            <option value="">All flows</option>
            {itemsOf(flows.data).map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </select>
        </label>
        <label className="field-inline">
          <span>Status</span>
          <select value={filters.status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">Any status</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label className="field-inline">
          <span>Contact id</span>
          <input value={filters.contact_id} onChange={(e) => setFilter('contact_id', e.target.value.trim())} placeholder="any" />
        </label>
      </div>
      {runs.isPending ? <Spinner label="Loading runs" /> : runs.error ? <ErrorBox error={runs.error} onRetry={() => runs.refetch()} /> : list.length === 0 ? (
        <EmptyState title="No runs match">Runs appear here when a published flow's trigger fires for a contact.</EmptyState>
      ) : (
        <div className="card">
          <table className="table" aria-label="Runs">
            <thead><tr><th>Run</th><th>Flow</th><th>Version</th><th>Contact</th><th>Status</th><th>At node</th><th>Started</th></tr></thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} className="clickable" onClick={() => navigate(`/runs/${r.id}`)}>
                  <td><a href={`/runs/${r.id}`} className="mono" onClick={(e) => { e.preventDefault(); navigate(`/runs/${r.id}`); }}>{shortId(r.id)}</a></td>
                  <td>{r.flow_name ?? flowName.get(r.flow_id) ?? shortId(r.flow_id)}</td>
                  <td>v{r.version}</td>
                  <td className={r.contact_email ? undefined : 'mono'}>{r.contact_email ?? shortId(r.contact_id)}</td>
                  <td><StatusBadge status={r.status} /></td>
                  <td>{r.current_node_id ? (r.node_label ?? <span className="mono">{r.current_node_id}</span>) : '—'}</td>
                  <td className="muted">{formatTime(r.started_at ?? r.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
