import { useState } from 'react';
import { api, ok } from '../api/client.ts';
import { itemsOf, useApiMutation, useContact, useOwners, useRun } from '../api/hooks.ts';
import { useStepNames } from '../api/names.ts';
import { navigate } from '../router.ts';
import { useCan } from '../session.ts';
import { ErrorBox, JsonView, PageHeader, Spinner, StatusBadge, formatDuration, formatTime } from '../ui/common.tsx';
import { Icon } from '../ui/icons.tsx';
import { StepDiagnostics } from './StepDiagnostics.tsx';

/** One run: its contact, and a timeline of steps with input, output, error and timings; cancel and retry. */
export function RunPage({ runId }: { runId: string }) {
  const run = useRun(runId);
  const contact = useContact(run.data?.contact_id);
  const owners = useOwners();
  const canOperate = useCan('operate');
  const [open, setOpen] = useState<Record<number, boolean>>({});
  const stepName = useStepNames(run.data ? [run.data] : []);
  const cancel = useApiMutation(() => ok(api.POST('/v1/runs/{id}/cancel', { params: { path: { id: runId } } })), [['/v1/runs']]);
  const retry = useApiMutation(() => ok(api.POST('/v1/runs/{id}/retry', { params: { path: { id: runId } } })), [['/v1/runs']]);
  if (run.isPending) return <div className="page"><Spinner label="Loading run" /></div>;
  if (run.error) return <div className="page"><ErrorBox error={run.error} onRetry={() => run.refetch()} /></div>;
  const r = run.data;
  const owner = contact.data?.owner_id ? itemsOf(owners.data).find((o) => o.id === contact.data?.owner_id) : undefined;
  const steps = r.steps ?? [];
  /** A node as the flow names it: its label, else its type's title. */
  const nodeName = (id: string | null | undefined) => (id ? (r.node_labels?.[id] ?? stepName(r, id)) : '—');
  return (
    <div className="page">
      <PageHeader
        title={<>{r.flow_name ?? 'Run'} · {r.contact_email ?? contact.data?.email ?? contact.data?.external_id ?? 'a contact without email'} <StatusBadge status={r.status} /></>}
        subtitle={<>
          <a href={`/flows/${r.flow_id}`} onClick={(e) => { e.preventDefault(); navigate(`/flows/${r.flow_id}`); }}>{r.flow_name ?? 'Flow'}</a> · version {r.version} · started {formatTime(r.started_at)}
          {r.finished_at ? ` · finished ${formatTime(r.finished_at)}` : ''}
        </>}
        actions={canOperate ? (
          <>
            {['active', 'waiting'].includes(r.status) ? <button className="btn danger" onClick={() => cancel.mutate(undefined)} disabled={cancel.isPending}>Cancel run</button> : null}
            {r.status === 'failed' ? <button className="btn btn-primary" onClick={() => retry.mutate(undefined)} disabled={retry.isPending}>Retry from failed step</button> : null}
          </>
        ) : null}
      />
      {cancel.error || retry.error ? <ErrorBox error={cancel.error ?? retry.error} /> : null}
      <div className="two-col">
        <section className="card pad" aria-label="Steps">
          <h2 className="section-title">Timeline</h2>
          {steps.length === 0 ? <p className="muted">No steps recorded yet.</p> : null}
          <ol className="timeline">
            {steps.map((s, i) => (
              <li key={i} className={`tl-${s.status}`}>
                <button className="tl-head" onClick={() => setOpen({ ...open, [i]: !open[i] })} aria-expanded={!!open[i]}>
                  <span className="tl-title">{nodeName(s.node_id)}</span>
                  <StatusBadge status={s.status} />
                  {s.attempt > 1 ? <span className="badge badge-amber">attempt {s.attempt}</span> : null}
                  <span className="muted small">{formatTime(s.started_at)} · {formatDuration(s.started_at, s.finished_at)}</span>
                </button>
                {s.error ? <div className="tl-error" role="alert"><Icon name="warn" size={14} /> {typeof s.error === 'string' ? s.error : ((s.error as { message?: string }).message ?? JSON.stringify(s.error))}</div> : null}
                {open[i] || s.output !== undefined ? (
                  <div className="tl-detail">
                    {s.output !== undefined && s.output !== null ? <><div className="small muted">Output</div><JsonView value={s.output} /></> : null}
                    {open[i] ? <StepDiagnostics step={s} /> : null}
                  </div>
                ) : null}
              </li>
            ))}
            {r.waiting ? (
              <li className="tl-waiting">
                <div className="tl-title">{nodeName(r.current_node_id ?? r.last_node_id)} <StatusBadge status="waiting" /></div>
                <div className="muted small">
                  {r.waiting.event ? `for a ${r.waiting.event} event` : 'waiting'}
                  {r.waiting.until ? ` until ${formatTime(r.waiting.until)}` : ''}
                </div>
              </li>
            ) : null}
            {r.finished_at ? (
              <li className={`tl-${r.status}`}>
                <div className="tl-title">Run {r.status} <span className="muted small">{formatTime(r.finished_at)}</span></div>
                {r.error ? <div className="tl-error" role="alert"><Icon name="warn" size={14} /> {typeof r.error === 'string' ? r.error : ((r.error as { message?: string }).message ?? JSON.stringify(r.error))}</div> : null}
              </li>
            ) : null}
          </ol>
        </section>
        <section className="card pad" aria-label="Contact">
          <h2 className="section-title">Contact</h2>
          {contact.isPending ? <Spinner /> : contact.error ? <ErrorBox error={contact.error} /> : (
            <dl className="props">
              <dt>Email</dt><dd>{contact.data.email ?? '—'}</dd>
              <dt>External id</dt><dd>{contact.data.external_id ?? '—'}</dd>
              <dt>Owner</dt><dd data-testid="run-owner">{owner ? `${owner.name} (${owner.email})` : contact.data.owner_id ? 'an owner not listed' : 'unassigned'}</dd>
              <dt>Tags</dt><dd>{contact.data.tags.length ? contact.data.tags.map((t) => <span key={t} className="tag">{t}</span>) : '—'}</dd>
              <dt>Score</dt><dd>{contact.data.score}</dd>
            </dl>
          )}
          <a href={`/contacts/${r.contact_id}`} onClick={(e) => { e.preventDefault(); navigate(`/contacts/${r.contact_id}`); }}>Open profile →</a>
        </section>
      </div>
    </div>
  );
}
