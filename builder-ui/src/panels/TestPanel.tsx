import { useMemo, useState } from 'react';
import { api, ok } from '../api/client.ts';
import { itemsOf, useContacts } from '../api/hooks.ts';
import type { Contact, RequestBody, TestResult } from '../api/types.ts';
import { useCatalogMap } from '../canvas/catalog.ts';
import { useEditor } from '../canvas/store.ts';
import { ErrorBox, JsonView } from '../ui/common.tsx';
import { Icon } from '../ui/icons.tsx';

/** A step of the path as the panel lists it: a dry-run step, or only its node id. */
type PathStep = Pick<TestResult['steps'][number], 'node_id'> & Partial<TestResult['steps'][number]>;

/** The dry run's path: its `steps` (with output and error) when present, else the `path` of node ids. */
export function readPath(result: TestResult): PathStep[] {
  return result.steps.length ? result.steps : result.path.map((node_id) => ({ node_id }));
}

/** Dry run of the draft: pick a contact (or type one) and an event; the path is highlighted on the canvas. */
export function TestPanel({ flowId, beforeRun }: { flowId: string; beforeRun: () => Promise<void> }) {
  const catalog = useCatalogMap();
  const trigger = useEditor((s) => s.nodes.find((n) => n.data.doc.type.startsWith('trigger.')));
  // The draft's waits for an event, as "id\u0000event type\u0000label" strings (a stable store slice).
  const waitKeys = useEditor((s) => s.nodes.filter((n) => n.data.doc.type === 'wait_for_event').map((n) => `${n.id}\u0000${String(n.data.doc.config?.event ?? '')}\u0000${n.data.doc.label ?? ''}`).join('\u0001'));
  const waits = useMemo(() => (waitKeys ? waitKeys.split('\u0001').map((k) => { const [id, event, label] = k.split('\u0000'); return { id: id!, event: event!, label: label || id! }; }) : []), [waitKeys]);
  /** Per wait: does its event arrive in this test (`event` out) or does it time out (`timeout` out)? */
  const [arrives, setArrives] = useState<Record<string, boolean>>({});
  const defaultEvent = typeof trigger?.data.doc.config?.event === 'string' ? (trigger.data.doc.config.event as string) : '';
  const [mode, setMode] = useState<'existing' | 'new'>('new');
  const [search, setSearch] = useState('');
  const [picked, setPicked] = useState<Contact | null>(null);
  const [contactJson, setContactJson] = useState('{\n  "email": "test@example.com",\n  "properties": { "country": "US", "employees": 120 }\n}');
  const [eventType, setEventType] = useState(defaultEvent);
  const [eventProps, setEventProps] = useState('{}');
  const [result, setResult] = useState<TestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const contacts = useContacts(search.trim() ? { q: search.trim() } : {});

  const steps = useMemo(() => (result ? readPath(result) : []), [result]);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      let who: Pick<RequestBody<'testFlow'>, 'contact_id' | 'contact'>;
      if (mode === 'existing') {
        if (!picked) throw new Error('Pick a contact first.');
        who = { contact_id: picked.id };
      } else {
        // Typed by the user as JSON: the engine checks it against the body's schema.
        who = { contact: JSON.parse(contactJson) as RequestBody<'testFlow'>['contact'] };
      }
      const properties = eventProps.trim() ? (JSON.parse(eventProps) as Record<string, unknown>) : {};
      await beforeRun();
      // The engine assumes by event type: a wait whose event is listed takes its `event` out, the others time out.
      const assume = [...new Set(waits.filter((w) => arrives[w.id] && w.event).map((w) => w.event))];
      const res = await ok(api.POST('/v1/flows/{id}/test', { params: { path: { id: flowId } }, body: { ...who, event: { type: eventType, properties }, ...(assume.length ? { assume_events: assume } : {}) } }));
      setResult(res);
      const path = readPath(res);
      const edges = useEditor.getState().edges;
      const onPathEdges: string[] = [];
      for (let i = 0; i + 1 < path.length; i++) {
        const edge = edges.find((e) => e.source === path[i].node_id && e.target === path[i + 1].node_id);
        if (edge) onPathEdges.push(edge.id);
      }
      useEditor.getState().setPath({ nodes: path.map((p) => p.node_id), edges: onPathEdges });
    } catch (err) {
      setError(err instanceof SyntaxError ? new Error(`Not valid JSON: ${err.message}`) : err);
      useEditor.getState().setPath(null);
    } finally {
      setBusy(false);
    }
  };

  const title = (id: string) => {
    const n = useEditor.getState().nodes.find((x) => x.id === id);
    return n ? (n.data.doc.label ?? catalog.get(n.data.doc.type)?.title ?? n.data.doc.type) : id;
  };
  const actions = result?.actions ?? [];

  return (
    <aside className="inspector" aria-label="Test panel">
      <div className="inspector-head"><span className="fnode-icon"><Icon name="beaker" /></span><div><h2>Test the draft</h2><div className="muted small">A dry run — nothing is sent or changed.</div></div></div>
      <div className="inspector-body">
        <div className="seg" role="tablist" aria-label="Contact source">
          <button role="tab" aria-selected={mode === 'new'} className={mode === 'new' ? 'on' : ''} onClick={() => setMode('new')}>Type a contact</button>
          <button role="tab" aria-selected={mode === 'existing'} className={mode === 'existing' ? 'on' : ''} onClick={() => setMode('existing')}>Existing contact</button>
        </div>
        {mode === 'new' ? (
          <label className="field"><span>Contact (JSON)</span><textarea className="mono" rows={5} value={contactJson} onChange={(e) => setContactJson(e.target.value)} /></label>
        ) : (
          <div className="field">
            <label className="field"><span>Find a contact</span><input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Part of an email, or an external id" /></label>
            <ul className="pick-list">
              {itemsOf(contacts.data).slice(0, 8).map((c) => (
                <li key={c.id}><button className={picked?.id === c.id ? 'on' : ''} aria-pressed={picked?.id === c.id} onClick={() => setPicked(c)}>{c.email ?? c.external_id ?? c.id}</button></li>
              ))}
            </ul>
          </div>
        )}
        <label className="field"><span>Event type</span><input value={eventType} onChange={(e) => setEventType(e.target.value)} placeholder="lead.created" /></label>
        <label className="field"><span>Event properties (JSON)</span><textarea className="mono" rows={3} value={eventProps} onChange={(e) => setEventProps(e.target.value)} /></label>
        {waits.length ? (
          <fieldset className="fieldset">
            <legend>At each wait</legend>
            {waits.map((w) => (
              <label key={w.id} className="field">
                <span>{w.label}{w.event ? <> — waits for <code>{w.event}</code></> : null}</span>
                <select
                  aria-label={`Outcome of ${w.label}`}
                  value={arrives[w.id] ? 'event' : 'timeout'}
                  onChange={(e) => {
                    // Waits on the same event type arrive together (the engine assumes by event type).
                    const on = e.target.value === 'event';
                    setArrives((a) => ({ ...a, ...Object.fromEntries(waits.filter((x) => x.event === w.event).map((x) => [x.id, on])) }));
                  }}
                >
                  <option value="timeout">It times out</option>
                  <option value="event">The event arrives</option>
                </select>
              </label>
            ))}
          </fieldset>
        ) : null}
        <button className="btn btn-primary btn-block" onClick={run} disabled={busy}><Icon name="runs" /> {busy ? 'Running…' : 'Run test'}</button>
        {error ? <ErrorBox error={error} /> : null}
        {result ? (
          <div className="test-result" aria-label="Test result">
            <h3 className="section-title">Path ({steps.length} step{steps.length === 1 ? '' : 's'}){typeof result.status === 'string' ? <> · ends <span className="badge badge-blue">{result.status}</span></> : null}</h3>
            {result.triggered === false || steps.length === 0 ? <p className="muted">The flow would not start for this contact and event (the trigger does not match).</p> : null}
            <ol className="timeline">
              {steps.map((s, i) => (
                <li key={i}>
                  <div className="tl-title">{title(s.node_id)}</div>
                  {s.output !== undefined && s.output !== null ? <JsonView value={s.output} /> : null}
                  {s.error ? <div className="tl-error"><Icon name="warn" size={14} /> {JSON.stringify(s.error)}</div> : null}
                </li>
              ))}
            </ol>
            {actions.length ? (
              <>
                <h3 className="section-title">Actions that would run</h3>
                {actions.map((a, i) => (
                  <div key={i} className="test-action">
                    <div className="tl-title">{a.node_id ? title(a.node_id) : a.type} <code>{a.type}</code></div>
                    <JsonView value={a.effect ?? a} />
                  </div>
                ))}
              </>
            ) : null}
          </div>
        ) : null}
      </div>
    </aside>
  );
}
