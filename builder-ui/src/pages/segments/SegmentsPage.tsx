import { useState } from 'react';
import { itemsOf } from '../../api/hooks.ts';
import { useSegment, useSegments } from '../../api/segments.ts';
import type { Segment } from '../../api/types.ts';
import { navigate } from '../../router.ts';
import { useCan } from '../../session.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner } from '../../ui/common.tsx';
import { SegmentEditor } from './SegmentEditor.tsx';
import '../pages.css';

/** A size sparkline from the segment's daily member counts (`history` of `GET /v1/segments/{key}`). */
function Sparkline({ segmentKey, members }: { segmentKey: string; members: number }) {
  const q = useSegment(segmentKey, members);
  const h = q.data?.history ?? [];
  if (h.length === 0) return <span className="muted small">no history yet</span>;
  const max = Math.max(1, ...h.map((d) => d.members));
  const points = h.map((d, i) => `${((i / Math.max(1, h.length - 1)) * 100).toFixed(1)},${(20 - (d.members / max) * 18).toFixed(1)}`).join(' ');
  const first = h[0]!;
  const last = h[h.length - 1]!;
  return (
    <svg width="100" height="22" viewBox="0 0 100 22" role="img" data-testid={`sparkline-${segmentKey}`}
      aria-label={`Size over ${h.length} days: ${first.members} on ${first.day}, ${last.members} on ${last.day}`}>
      <polyline fill="none" stroke="currentColor" strokeWidth="1.5" points={points} />
    </svg>
  );
}

const go = (to: string) => (e: React.MouseEvent) => { e.preventDefault(); navigate(to); };

/** Segments: the list with live member counts and size sparklines, and the editor (new or existing) with a live preview. */
export function SegmentsPage() {
  const canEdit = useCan('edit');
  const [editing, setEditing] = useState<Segment | 'new' | null>(null);
  const list = useSegments(5_000);
  const segments = itemsOf(list.data);
  return (
    <div className="page">
      <PageHeader
        title="Segments"
        subtitle="Who your contacts are, kept current as they act"
        actions={canEdit && editing === null ? <button className="btn btn-primary" onClick={() => setEditing('new')}>New segment</button> : null}
      />
      {editing !== null ? <SegmentEditor key={editing === 'new' ? 'new' : editing.key} segment={editing === 'new' ? null : editing} onDone={() => setEditing(null)} /> : null}
      {list.isPending ? <Spinner label="Loading segments" /> : list.error ? <ErrorBox error={list.error} onRetry={() => list.refetch()} /> : segments.length === 0 ? (
        <EmptyState title="No segments yet">Create one: for example, customers with no order in the last 30 days.</EmptyState>
      ) : (
        <div className="card">
          <table className="table" aria-label="Segments">
            <thead><tr><th>Name</th><th>Key</th><th className="num">Members</th><th>Size, last 30 days</th><th><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {segments.map((s) => (
                <tr key={s.key}>
                  <td>{s.name}</td>
                  <td className="mono">{s.key}</td>
                  <td className="num"><span data-testid={`members-${s.key}`}>{s.member_count}</span>{s.status === 'evaluating' ? <span className="muted small"> evaluating…</span> : null}</td>
                  <td><Sparkline segmentKey={s.key} members={s.member_count} /></td>
                  <td className="row-actions">
                    <a href={`/contacts?segment=${encodeURIComponent(s.key)}`} onClick={go(`/contacts?segment=${encodeURIComponent(s.key)}`)} aria-label={`Members of ${s.name}`}>Members</a>
                    {canEdit ? <button className="btn btn-ghost btn-sm" onClick={() => setEditing(s)} aria-label={`Edit ${s.name}`}>Edit</button> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
