import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage } from '../api/client.ts';
import { itemsOf, useApiMutation } from '../api/hooks.ts';
import type { Contact, Page } from '../api/types.ts';
import { navigate } from '../router.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner } from '../ui/common.tsx';

interface Segment { key: string; name: string; rule: Record<string, unknown>; member_count: number; history?: { day: string; members: number }[] }

/** One line of the rule builder, in the admin's words; compiled to the API's condition format below. */
type Line =
  | { kind: 'property'; property: string; op: 'equal' | 'notEqual' | 'greaterThanInclusive' | 'lessThanInclusive'; value: string }
  | { kind: 'tag'; tag: string; has: boolean }
  | { kind: 'did'; event: string; atLeast: number; days: number }
  | { kind: 'not_since'; event: string; days: number };

const PROPERTY_OPS = { equal: 'is', notEqual: 'is not', greaterThanInclusive: 'is at least', lessThanInclusive: 'is at most' } as const;

function toCondition(l: Line): Record<string, unknown> {
  switch (l.kind) {
    case 'property': {
      const n = Number(l.value);
      return { fact: 'contact', path: `$.properties.${l.property}`, operator: l.op, value: l.value !== '' && !Number.isNaN(n) ? n : l.value };
    }
    case 'tag':
      return { fact: 'contact', operator: l.has ? 'hasTag' : 'notHasTag', value: l.tag };
    case 'did':
      return { fact: 'activity', params: { event: l.event, measure: 'count', within: `P${l.days}D` }, operator: 'greaterThanInclusive', value: l.atLeast };
    case 'not_since':
      return { fact: 'activity', params: { event: l.event, measure: 'last_at' }, operator: 'notWithinLast', value: `P${l.days}D` };
  }
}

const ruleOf = (lines: Line[]) => ({ all: lines.map(toCondition) });

/** A size sparkline from the daily member counts. */
function Sparkline({ segmentKey }: { segmentKey: string }) {
  const q = useQuery({ queryKey: ['/v1/segments', segmentKey], queryFn: ({ signal }) => api.get<Segment>(`/v1/segments/${encodeURIComponent(segmentKey)}`, signal) });
  const h = q.data?.history ?? [];
  if (h.length === 0) return null;
  const max = Math.max(1, ...h.map((d) => d.members));
  const points = h.map((d, i) => `${(i / Math.max(1, h.length - 1)) * 100},${20 - (d.members / max) * 18}`).join(' ');
  return (
    <svg width="100" height="22" viewBox="0 0 100 22" role="img" aria-label={`Size over the last ${h.length} days`}>
      <polyline fill="none" stroke="currentColor" strokeWidth="1.5" points={points} />
    </svg>
  );
}

function LineEditor({ line, onChange, onRemove }: { line: Line; onChange: (l: Line) => void; onRemove: () => void }) {
  return (
    <div className="filters" role="group" aria-label="Condition">
      {line.kind === 'property' && (<>
        <span>Property</span>
        <input aria-label="Property" value={line.property} onChange={(e) => onChange({ ...line, property: e.target.value })} />
        <select aria-label="Comparison" value={line.op} onChange={(e) => onChange({ ...line, op: e.target.value as typeof line.op })}>
          {Object.entries(PROPERTY_OPS).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
        </select>
        <input aria-label="Value" value={line.value} onChange={(e) => onChange({ ...line, value: e.target.value })} />
      </>)}
      {line.kind === 'tag' && (<>
        <select aria-label="Has tag" value={line.has ? 'has' : 'lacks'} onChange={(e) => onChange({ ...line, has: e.target.value === 'has' })}>
          <option value="has">Has tag</option><option value="lacks">Does not have tag</option>
        </select>
        <input aria-label="Tag" value={line.tag} onChange={(e) => onChange({ ...line, tag: e.target.value })} />
      </>)}
      {line.kind === 'did' && (<>
        <span>Did</span>
        <input aria-label="Event" value={line.event} onChange={(e) => onChange({ ...line, event: e.target.value })} />
        <span>at least</span>
        <input aria-label="Times" type="number" min={1} value={line.atLeast} onChange={(e) => onChange({ ...line, atLeast: Number(e.target.value) })} />
        <span>times in the last</span>
        <input aria-label="Days" type="number" min={1} value={line.days} onChange={(e) => onChange({ ...line, days: Number(e.target.value) })} />
        <span>days</span>
      </>)}
      {line.kind === 'not_since' && (<>
        <span>No</span>
        <input aria-label="Event" value={line.event} onChange={(e) => onChange({ ...line, event: e.target.value })} />
        <span>in the last</span>
        <input aria-label="Days" type="number" min={1} value={line.days} onChange={(e) => onChange({ ...line, days: Number(e.target.value) })} />
        <span>days</span>
      </>)}
      <button className="btn btn-ghost btn-sm" onClick={onRemove} aria-label="Remove condition">Remove</button>
    </div>
  );
}

/** Create a segment: conditions in plain words, a live preview of the count and a sample of contacts. */
function SegmentEditor({ onDone }: { onDone: () => void }) {
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [lines, setLines] = useState<Line[]>([{ kind: 'not_since', event: 'order.completed', days: 30 }]);
  const [preview, setPreview] = useState<{ count: number; sample: Contact[] } | { error: string } | null>(null);
  const rule = ruleOf(lines);
  const ruleText = JSON.stringify(rule);
  useEffect(() => {
    const t = setTimeout(() => {
      api.post<{ count: number; sample: Contact[] }>('/v1/segments/preview', { rule: JSON.parse(ruleText) })
        .then(setPreview, (err: unknown) => setPreview({ error: errorMessage(err) }));
    }, 400);
    return () => clearTimeout(t);
  }, [ruleText]);
  const create = useApiMutation((body: { key: string; name: string; rule: unknown }) => api.post<Segment>('/v1/segments', body), [['/v1/segments']]);
  const add = (l: Line) => setLines([...lines, l]);
  return (
    <div className="card" aria-label="New segment">
      <div className="filters">
        <input aria-label="Segment name" placeholder="Name, e.g. Lapsed buyers" value={name} onChange={(e) => setName(e.target.value)} />
        <input aria-label="Segment key" placeholder="key, e.g. lapsed-buyers" value={key} onChange={(e) => setKey(e.target.value)} />
      </div>
      <p className="muted">Contacts who match all of:</p>
      {lines.map((l, i) => (
        <LineEditor key={i} line={l} onChange={(nl) => setLines(lines.map((x, j) => (j === i ? nl : x)))} onRemove={() => setLines(lines.filter((_, j) => j !== i))} />
      ))}
      <div className="filters">
        <button className="btn btn-sm" onClick={() => add({ kind: 'property', property: 'plan', op: 'equal', value: '' })}>+ Property</button>
        <button className="btn btn-sm" onClick={() => add({ kind: 'tag', tag: '', has: true })}>+ Tag</button>
        <button className="btn btn-sm" onClick={() => add({ kind: 'did', event: 'order.completed', atLeast: 3, days: 90 })}>+ Did something</button>
        <button className="btn btn-sm" onClick={() => add({ kind: 'not_since', event: 'order.completed', days: 30 })}>+ Has not done something</button>
      </div>
      <div aria-live="polite">
        {preview === null ? <Spinner label="Counting" /> : 'error' in preview ? <ErrorBox error={new Error(preview.error)} /> : (
          <p><strong>{preview.count}</strong> contacts match now{preview.sample.length > 0 ? `, e.g. ${preview.sample.map((c) => c.email ?? c.external_id ?? c.id).join(', ')}` : ''}.</p>
        )}
      </div>
      {create.error && <ErrorBox error={create.error} />}
      <button className="btn btn-primary" disabled={!key || !name || create.isPending} onClick={() => create.mutate({ key, name, rule }, { onSuccess: onDone })}>Create segment</button>
    </div>
  );
}

/** Segments: live member counts with a size sparkline, and an editor with a live preview. */
export function SegmentsPage() {
  const [editing, setEditing] = useState(false);
  const list = useQuery({ queryKey: ['/v1/segments'], queryFn: ({ signal }) => api.get<Page<Segment>>('/v1/segments?limit=500', signal), refetchInterval: 10_000 });
  const segments = itemsOf(list.data);
  return (
    <div className="page">
      <PageHeader title="Segments" subtitle="Who your contacts are, kept current as they act" />
      {!editing && <button className="btn btn-primary" onClick={() => setEditing(true)}>New segment</button>}
      {editing && <SegmentEditor onDone={() => setEditing(false)} />}
      {list.isPending ? <Spinner label="Loading segments" /> : list.error ? <ErrorBox error={list.error} onRetry={() => list.refetch()} /> : segments.length === 0 ? (
        <EmptyState title="No segments yet">Create one: for example, customers with no order in the last 30 days.</EmptyState>
      ) : (
        <div className="card">
          <table className="table" aria-label="Segments">
            <thead><tr><th>Name</th><th>Key</th><th className="num">Members</th><th>Last 30 days</th></tr></thead>
            <tbody>
              {segments.map((s) => (
                <tr key={s.key} className="clickable" onClick={() => navigate(`/contacts?segment=${encodeURIComponent(s.key)}`)}>
                  <td>{s.name}</td>
                  <td className="mono">{s.key}</td>
                  <td className="num">{s.member_count}</td>
                  <td><Sparkline segmentKey={s.key} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
