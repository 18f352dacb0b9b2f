import { ContactSegments } from './ContactSegments.tsx';
import { itemsOf, useContact, useContactTimeline, useFlows, useOwners, useRuns } from '../api/hooks.ts';
import { useStepNames, type VersionRef } from '../api/names.ts';
import type { TimelineItem } from '../api/types.ts';
import { navigate } from '../router.ts';
import { ErrorBox, JsonView, PageHeader, Spinner, StatusBadge, formatTime } from '../ui/common.tsx';

function itemTime(i: TimelineItem): string | undefined {
  return (i.occurred_at ?? i.at ?? i.created_at ?? (i.started_at as string | undefined)) as string | undefined;
}

const isStep = (i: TimelineItem): i is TimelineItem & VersionRef & { node_id: string } => i.kind === 'step' && typeof i.flow_id === 'string' && typeof i.node_id === 'string';

/** A contact's profile (properties, tags, score, owner), event timeline and runs. */
export function ContactPage({ contactId }: { contactId: string }) {
  const contact = useContact(contactId);
  const timeline = useContactTimeline(contactId);
  const runs = useRuns({ contact_id: contactId });
  const owners = useOwners();
  const flows = useFlows();
  const flowName = new Map(itemsOf(flows.data).map((f) => [f.id, f.name]));
  const stepName = useStepNames(itemsOf(timeline.data).filter(isStep));
  /** "Lead routing › Assign an owner · completed" for a run step, the event type for an event. */
  const itemLabel = (i: TimelineItem) =>
    isStep(i) ? `${flowName.get(i.flow_id) ?? 'A flow'} › ${stepName(i, i.node_id)}${i.status ? ` · ${String(i.status)}` : ''}` : String(i.type ?? i.kind ?? 'event');
  if (contact.isPending) return <div className="page"><Spinner label="Loading contact" /></div>;
  if (contact.error) return <div className="page"><ErrorBox error={contact.error} /></div>;
  const c = contact.data;
  const owner = c.owner_id ? itemsOf(owners.data).find((o) => o.id === c.owner_id) : undefined;
  return (
    <div className="page">
      <PageHeader title={c.email ?? c.external_id ?? 'Contact without email'} subtitle={<>Contact{c.external_id && c.email ? <> · external id {c.external_id}</> : null} · since {formatTime(c.created_at)}</>} />
      <div className="three-col">
        <section className="card pad" aria-label="Profile">
          <h2 className="section-title">Profile</h2>
          <dl className="props">
            <dt>Email</dt><dd>{c.email ?? '—'}</dd>
            <dt>External id</dt><dd>{c.external_id ?? '—'}</dd>
            <dt>Owner</dt><dd>{owner ? `${owner.name} (${owner.email})` : c.owner_id ? 'an owner not listed' : 'unassigned'}</dd>
            <dt>Lifecycle</dt><dd>{c.lifecycle_stage ?? '—'}</dd>
            <dt>Score</dt><dd>{c.score}</dd>
            <dt>Timezone</dt><dd>{c.timezone ?? '—'}</dd>
            <dt>Tags</dt><dd>{c.tags.length ? c.tags.map((t) => <span key={t} className="tag">{t}</span>) : '—'}</dd>
          </dl>
          <h3 className="section-title">Properties</h3>
          <dl className="props">
            {Object.entries(c.properties ?? {}).map(([k, v]) => <div key={k} className="prop-row"><dt>{k}</dt><dd>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd></div>)}
          </dl>
          <ContactSegments contactId={c.id} />
        </section>
        <section className="card pad" aria-label="Timeline">
          <h2 className="section-title">Timeline</h2>
          {timeline.isPending ? <Spinner /> : timeline.error ? <ErrorBox error={timeline.error} /> : (
            <ol className="timeline">
              {itemsOf(timeline.data).length === 0 ? <li className="muted">Nothing yet.</li> : null}
              {itemsOf(timeline.data).map((i, n) => (
                <li key={String(i.id ?? n)}>
                  <div className="tl-title">{itemLabel(i)} <span className="muted small">{formatTime(itemTime(i))}</span></div>
                  {i.properties && Object.keys(i.properties as object).length ? <JsonView value={i.properties} /> : null}
                </li>
              ))}
            </ol>
          )}
        </section>
        <section className="card pad" aria-label="Runs">
          <h2 className="section-title">Runs</h2>
          {runs.isPending ? <Spinner /> : itemsOf(runs.data).length === 0 ? <p className="muted">No runs.</p> : (
            <ul className="run-list">
              {itemsOf(runs.data).map((r) => (
                <li key={r.id}>
                  <a href={`/runs/${r.id}`} onClick={(e) => { e.preventDefault(); navigate(`/runs/${r.id}`); }}>{r.flow_name ?? flowName.get(r.flow_id) ?? 'A deleted flow'} v{r.version}</a>
                  <StatusBadge status={r.status} /> <span className="muted small">{formatTime(r.started_at)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
