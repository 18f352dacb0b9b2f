import { useState } from 'react';
import { api, ok } from '../api/client.ts';
import { itemsOf, useContact, useFlows, useRuns } from '../api/hooks.ts';
import type { RunFilters } from '../api/types.ts';
import { useStepNames } from '../api/names.ts';
import { navigate, useLocation } from '../router.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner, StatusBadge, formatTime } from '../ui/common.tsx';

const STATUSES = ['active', 'waiting', 'completed', 'converted', 'exited', 'failed', 'cancelled'] as const;

/** The URL's filters as the runs query takes them: empty ones left out, an unknown status ignored. */
function runFilters(f: { flow_id: string; status: string; contact_id: string }): RunFilters {
  const status = STATUSES.find((s) => s === f.status);
  return { ...(f.flow_id ? { flow_id: f.flow_id } : {}), ...(status ? { status } : {}), ...(f.contact_id ? { contact_id: f.contact_id } : {}) };
}

/** Runs with filters kept in the URL (flow, status, contact) so they can be linked to from other screens. */
export function RunsPage() {
  const { search } = useLocation();
  const filters = { flow_id: search.get('flow_id') ?? '', status: search.get('status') ?? '', contact_id: search.get('contact_id') ?? '' };
  const runs = useRuns(runFilters(filters), true);
  const flows = useFlows();
  const flowName = new Map(itemsOf(flows.data).map((f) => [f.id, f.name]));
  const setFilter = (key: keyof typeof filters, value: string) => {
    const next = new URLSearchParams({ ...filters, [key]: value });
    for (const [k, v] of [...next.entries()]) if (!v) next.delete(k);
    const q = next.toString();
    navigate(`/runs${q ? `?${q}` : ''}`, true);
  };
  const list = itemsOf(runs.data);
  const stepName = useStepNames(list);
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
        <ContactFilter contactId={filters.contact_id} onChange={(id) => setFilter('contact_id', id)} />
      </div>
      {runs.isPending ? <Spinner label="Loading runs" /> : runs.error ? <ErrorBox error={runs.error} onRetry={() => runs.refetch()} /> : list.length === 0 ? (
        <EmptyState title="No runs match">Runs appear here when a published flow's trigger fires for a contact.</EmptyState>
      ) : (
        <div className="card">
          <table className="table" aria-label="Runs">
            <thead><tr><th>Contact</th><th>Flow</th><th>Version</th><th>Status</th><th>At step</th><th>Started</th></tr></thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} className="clickable" onClick={() => navigate(`/runs/${r.id}`)}>
                  <td><a href={`/runs/${r.id}`} aria-label={`Run of ${r.contact_email ?? 'a contact without email'} through ${r.flow_name ?? flowName.get(r.flow_id) ?? 'a flow'}`} onClick={(e) => { e.preventDefault(); navigate(`/runs/${r.id}`); }}>{r.contact_email ?? <span className="muted">no email</span>}</a></td>
                  <td>{r.flow_name ?? flowName.get(r.flow_id) ?? 'a deleted flow'}</td>
                  <td>v{r.version}</td>
                  <td><StatusBadge status={r.status} /></td>
                  <td>{r.current_node_id ? (r.node_label ?? stepName(r, r.current_node_id)) : '—'}</td>
                  <td className="muted">{formatTime(r.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Runs of one contact, found by email; the chosen contact shows by email (its id stays in the URL only). */
function ContactFilter({ contactId, onChange }: { contactId: string; onChange: (id: string) => void }) {
  const contact = useContact(contactId || undefined);
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (contactId) {
    return (
      <span className="field-inline">
        <span>Contact</span>
        <span className="tag">{contact.data ? (contact.data.email ?? contact.data.external_id ?? 'a contact without email') : '…'}</span>
        <button className="btn btn-sm btn-ghost" onClick={() => onChange('')} aria-label="Any contact">×</button>
      </span>
    );
  }
  const find = async () => {
    setError(null);
    const found = itemsOf(await ok(api.GET('/v1/contacts', { params: { query: { email: email.trim() } } })))[0];
    if (found) onChange(found.id);
    else setError(`No contact with email ${email.trim()}`);
  };
  return (
    <form className="field-inline" onSubmit={(e) => { e.preventDefault(); if (email.trim()) void find().catch(() => setError('Could not search contacts')); }}>
      <label htmlFor="runs-contact">Contact email</label>
      <input id="runs-contact" type="search" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="any" />
      {error ? <span className="error-text small" role="alert">{error}</span> : null}
    </form>
  );
}
