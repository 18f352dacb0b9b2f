import { useEffect, useId, useState } from 'react';
import { api, errorMessage, ok } from '../../api/client.ts';
import { useApiMutation, useFields } from '../../api/hooks.ts';
import type { RequestBody, Segment, SegmentPreview } from '../../api/types.ts';
import { navigate } from '../../router.ts';
import { ErrorBox, Spinner } from '../../ui/common.tsx';
import { PROPERTY_OPS, linesOf, ruleOf, type Ago, type Line } from './rule-lines.ts';

/** "in the last [30] [days]": a relative time picked as a number and a unit. */
function AgoPicker({ value, onChange, label }: { value: Ago; onChange: (a: Ago) => void; label: string }) {
  return (
    <>
      <input aria-label={`${label}: how many`} type="number" min={1} max={3650} className="num-input" value={value.n}
        onChange={(e) => onChange({ ...value, n: Math.max(1, Math.trunc(Number(e.target.value) || 1)) })} />
      <select aria-label={`${label}: unit`} value={value.unit} onChange={(e) => onChange({ ...value, unit: e.target.value as Ago['unit'] })}>
        <option value="D">days</option>
        <option value="W">weeks</option>
      </select>
    </>
  );
}

function LineEditor({ line, onChange, onRemove, lists }: { line: Line; onChange: (l: Line) => void; onRemove: () => void; lists: { props: string; tags: string; events: string } }) {
  const event = (l: Extract<Line, { event: string }>) => (
    <input aria-label="Event" list={lists.events} value={l.event} onChange={(e) => onChange({ ...l, event: e.target.value })} />
  );
  return (
    <div className="rule-line" role="group" aria-label="Condition">
      {line.kind === 'property' && (<>
        <span>Property</span>
        <input aria-label="Property" list={lists.props} value={line.property} onChange={(e) => onChange({ ...line, property: e.target.value })} />
        <select aria-label="Comparison" value={line.op} onChange={(e) => onChange({ ...line, op: e.target.value as typeof line.op })}>
          {Object.entries(PROPERTY_OPS).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
        </select>
        <input aria-label="Value" value={line.value} onChange={(e) => onChange({ ...line, value: e.target.value })} />
      </>)}
      {line.kind === 'tag' && (<>
        <select aria-label="Has tag" value={line.has ? 'has' : 'lacks'} onChange={(e) => onChange({ ...line, has: e.target.value === 'has' })}>
          <option value="has">Has tag</option><option value="lacks">Does not have tag</option>
        </select>
        <input aria-label="Tag" list={lists.tags} value={line.tag} onChange={(e) => onChange({ ...line, tag: e.target.value })} />
      </>)}
      {line.kind === 'did' && (<>
        <span>Did</span>{event(line)}<span>at least</span>
        <input aria-label="Times" type="number" min={1} className="num-input" value={line.atLeast} onChange={(e) => onChange({ ...line, atLeast: Math.max(1, Number(e.target.value) || 1) })} />
        <span>times in the last</span><AgoPicker label="In the last" value={line.ago} onChange={(ago) => onChange({ ...line, ago })} />
      </>)}
      {line.kind === 'spent' && (<>
        <span>Spent at least</span>
        <input aria-label="Amount" type="number" min={0} className="num-input" value={line.atLeast} onChange={(e) => onChange({ ...line, atLeast: Math.max(0, Number(e.target.value) || 0) })} />
        <span>on</span>{event(line)}<span>in the last</span><AgoPicker label="In the last" value={line.ago} onChange={(ago) => onChange({ ...line, ago })} />
      </>)}
      {line.kind === 'recent' && (<>
        <span>Did</span>{event(line)}<span>in the last</span><AgoPicker label="In the last" value={line.ago} onChange={(ago) => onChange({ ...line, ago })} />
      </>)}
      {line.kind === 'not_since' && (<>
        <span>No</span>{event(line)}<span>in the last</span><AgoPicker label="In the last" value={line.ago} onChange={(ago) => onChange({ ...line, ago })} />
        <span className="muted small">(never counts too)</span>
      </>)}
      <button className="btn btn-ghost btn-sm" onClick={onRemove} aria-label="Remove condition">Remove</button>
    </div>
  );
}

const LAST_30: Ago = { n: 30, unit: 'D' };
const ADD: Array<[string, () => Line]> = [
  ['+ Property', () => ({ kind: 'property', property: '', op: 'equal', value: '' })],
  ['+ Tag', () => ({ kind: 'tag', tag: '', has: true })],
  ['+ Did something', () => ({ kind: 'did', event: 'order.completed', atLeast: 3, ago: { n: 90, unit: 'D' } })],
  ['+ Did it lately', () => ({ kind: 'recent', event: 'order.completed', ago: LAST_30 })],
  ['+ Has not done something', () => ({ kind: 'not_since', event: 'order.completed', ago: LAST_30 })],
  ['+ Spent', () => ({ kind: 'spent', event: 'order.completed', atLeast: 100, ago: { n: 90, unit: 'D' } })],
];

/** The rule as JSON, for rules the line editor cannot show (written through the API). */
function JsonRule({ value, onChange }: { value: Record<string, unknown>; onChange: (v: Record<string, unknown> | null) => void }) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  return (
    <textarea aria-label="Rule (JSON)" className="form-control mono" rows={8} value={text}
      onChange={(e) => {
        setText(e.target.value);
        try { onChange(JSON.parse(e.target.value) as Record<string, unknown>); } catch { onChange(null); }
      }} />
  );
}

/**
 * Create or change a segment: conditions in plain words (relative times picked as "30 days"), a live preview of
 * how many contacts match now and who, then save. Deleting answers 409 while a published flow uses the segment.
 */
export function SegmentEditor({ segment, onDone }: { segment: Segment | null; onDone: () => void }) {
  const [key, setKey] = useState(segment?.key ?? '');
  const [name, setName] = useState(segment?.name ?? '');
  const initialLines = segment ? linesOf(segment.rule) : [{ kind: 'not_since', event: 'order.completed', ago: LAST_30 } as Line];
  const [lines, setLines] = useState<Line[] | null>(initialLines);
  const [json, setJson] = useState<Record<string, unknown> | null>(segment?.rule ?? null);
  const [preview, setPreview] = useState<SegmentPreview | { error: string } | null>(null);
  const fields = useFields();
  const ids = { props: useId(), tags: useId(), events: useId() };
  const rule = lines ? ruleOf(lines) : json;
  const ruleText = JSON.stringify(rule);

  useEffect(() => {
    if (rule === null) return;
    let live = true;
    const t = setTimeout(() => {
      ok(api.POST('/v1/segments/preview', { body: { rule: JSON.parse(ruleText) as Segment['rule'] } }))
        .then((p) => live && setPreview(p), (err: unknown) => live && setPreview({ error: errorMessage(err) }));
    }, 300);
    return () => { live = false; clearTimeout(t); };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the text stands for the rule
  }, [ruleText]);

  const save = useApiMutation(
    (body: RequestBody<'createSegment'>) =>
      segment
        ? ok(api.PATCH('/v1/segments/{key}', { params: { path: { key: segment.key } }, body: { name: body.name, rule: body.rule } }))
        : ok(api.POST('/v1/segments', { body })),
    [['/v1/segments']],
  );
  const remove = useApiMutation(() => ok(api.DELETE('/v1/segments/{key}', { params: { path: { key: segment!.key } } })), [['/v1/segments']]);
  const contactName = (c: SegmentPreview['sample'][number]) => c.email ?? c.external_id ?? c.id;

  return (
    <section className="card pad segment-editor" aria-label={segment ? `Edit segment ${segment.name}` : 'New segment'}>
      <h2 className="section-title">{segment ? `Edit “${segment.name}”` : 'New segment'}</h2>
      <div className="filters">
        <label>Name <input aria-label="Segment name" placeholder="e.g. Lapsed buyers" value={name} onChange={(e) => setName(e.target.value)} /></label>
        <label>Key <input aria-label="Segment key" placeholder="e.g. lapsed-buyers" value={key} disabled={!!segment} onChange={(e) => setKey(e.target.value)} /></label>
      </div>
      <p className="muted">Contacts who match all of:</p>
      {lines ? (
        <>
          {lines.map((l, i) => (
            <LineEditor key={i} line={l} lists={ids} onChange={(nl) => setLines(lines.map((x, j) => (j === i ? nl : x)))} onRemove={() => setLines(lines.filter((_, j) => j !== i))} />
          ))}
          <div className="filters">
            {ADD.map(([label, make]) => <button key={label} className="btn btn-sm" onClick={() => setLines([...lines, make()])}>{label}</button>)}
          </div>
          <datalist id={ids.props}>{(fields.data?.contact_properties ?? []).map((p) => <option key={p} value={p} />)}</datalist>
          <datalist id={ids.tags}>{(fields.data?.tags ?? []).map((t) => <option key={t} value={t} />)}</datalist>
          <datalist id={ids.events}>{(fields.data?.events ?? []).map((e) => <option key={e.type} value={e.type} />)}</datalist>
        </>
      ) : (
        <>
          <p className="small">This rule has parts the simple editor cannot show; edit it as JSON.</p>
          <JsonRule value={segment?.rule ?? {}} onChange={setJson} />
        </>
      )}
      <div aria-live="polite" aria-label="Preview" className="segment-preview">
        {rule === null ? <p className="text-danger small">Not valid JSON yet</p> : preview === null ? <Spinner label="Counting" /> : 'error' in preview ? <ErrorBox error={new Error(preview.error)} /> : (
          <>
            <p><strong data-testid="preview-count">{preview.count}</strong> {preview.count === 1 ? 'contact matches' : 'contacts match'} now{preview.sample.length ? ', for example:' : '.'}</p>
            {preview.sample.length ? (
              <ul className="sample-list" aria-label="Sample contacts">
                {preview.sample.map((c) => (
                  <li key={c.id}><a href={`/contacts/${c.id}`} onClick={(e) => { e.preventDefault(); navigate(`/contacts/${c.id}`); }}>{contactName(c)}</a></li>
                ))}
              </ul>
            ) : null}
          </>
        )}
      </div>
      {save.error ? <ErrorBox error={save.error} /> : null}
      {remove.error ? <ErrorBox error={remove.error} /> : null}
      <div className="filters">
        <button className="btn btn-primary" disabled={!key || !name || rule === null || save.isPending} onClick={() => rule && save.mutate({ key, name, rule }, { onSuccess: onDone })}>
          {segment ? 'Save segment' : 'Create segment'}
        </button>
        <button className="btn" onClick={onDone}>Cancel</button>
        {segment ? <button className="btn btn-ghost danger" disabled={remove.isPending} onClick={() => remove.mutate(undefined, { onSuccess: onDone })}>Delete segment</button> : null}
      </div>
    </section>
  );
}
