import { useState } from 'react';
import { api, ApiError, errorMessage, ok } from '../api/client.ts';
import { useFlowVersion } from '../api/hooks.ts';
import type { Flow, FlowDocument } from '../api/types.ts';
import { useCatalogMap } from '../canvas/catalog.ts';
import { diffDocuments, isEmptyDiff } from '../graph/diff.ts';
import { Modal, Spinner } from '../ui/common.tsx';

/**
 * Publish: shows what changed since the last published version (nodes added/removed/changed, edges,
 * settings), asks for a note, and reports the engine's refusal (422) with its errors.
 */
export function PublishDialog({
  flow,
  current,
  beforePublish,
  onClose,
  onPublished,
  onRefused,
}: {
  flow: Flow;
  current: FlowDocument;
  beforePublish: () => Promise<void>;
  onClose: () => void;
  onPublished: (version: number) => void;
  onRefused: (err: ApiError) => void;
}) {
  const catalog = useCatalogMap();
  const last = useFlowVersion(flow.id, flow.published_version);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const hasPrevious = (flow.published_version ?? 0) > 0;
  const previous = last.data?.document;
  const diff = !hasPrevious || previous ? diffDocuments(hasPrevious ? previous : null, current) : null;
  const title = (type: string) => catalog.get(type)?.title ?? type;

  const publish = async () => {
    setBusy(true);
    setError(null);
    try {
      await beforePublish();
      const res = await ok(api.POST('/v1/flows/{id}/publish', { params: { path: { id: flow.id } }, body: { note } }));
      onPublished(res.version);
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.status === 422) onRefused(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title={hasPrevious ? `Publish version ${(flow.published_version ?? 0) + 1}` : 'Publish the first version'}
      onClose={onClose}
      wide
      footer={
        <>
          <button className="btn" onClick={onClose}>Cancel</button>
          <button className="btn btn-primary" onClick={publish} disabled={busy}>{busy ? 'Publishing…' : 'Publish'}</button>
        </>
      }
    >
      <p className="muted">New runs will use this version; runs already in flight finish on the version they started on.</p>
      <h3 className="section-title">Changes since {hasPrevious ? `v${flow.published_version}` : 'nothing (first version)'}</h3>
      {last.isPending && hasPrevious ? <Spinner label="Loading the published version" /> : null}
      {diff ? (
        isEmptyDiff(diff) ? (
          <p className="muted">No changes to nodes, edges or settings{diff.moved.length ? ` (${diff.moved.length} node(s) moved)` : ''}.</p>
        ) : (
          <ul className="diff" aria-label="Changes">
            {diff.nodesAdded.map((n) => <li key={`a${n.id}`} className="diff-add">+ Added <b>{n.label ?? title(n.type)}</b> <code>{n.id}</code></li>)}
            {diff.nodesRemoved.map((n) => <li key={`r${n.id}`} className="diff-del">− Removed <b>{n.label ?? title(n.type)}</b> <code>{n.id}</code></li>)}
            {diff.nodesChanged.map((n) => <li key={`c${n.id}`} className="diff-chg">~ Changed <b>{title(n.type)}</b> <code>{n.id}</code> <span className="muted">({n.fields.join(', ')})</span></li>)}
            {diff.edgesAdded.length ? <li className="diff-add">+ {diff.edgesAdded.length} connection(s) added</li> : null}
            {diff.edgesRemoved.length ? <li className="diff-del">− {diff.edgesRemoved.length} connection(s) removed</li> : null}
            {diff.settingsChanged ? <li className="diff-chg">~ Settings changed</li> : null}
            {diff.nameChanged ? <li className="diff-chg">~ Renamed to “{current.name}”</li> : null}
          </ul>
        )
      ) : null}
      <label className="field">
        <span>Note for this version</span>
        <textarea aria-label="Version note" value={note} onChange={(e) => setNote(e.target.value)} rows={3} placeholder="What changed and why" />
      </label>
      {error ? (
        <div className="error-box" role="alert">
          <div>
            <b>Publish refused.</b> {errorMessage(error)}
            {error instanceof ApiError && error.errors.length > 1 ? (
              <ul>{error.errors.map((e, i) => <li key={i}>{e.node_id ? <code>{e.node_id}</code> : null} {e.message}</li>)}</ul>
            ) : null}
          </div>
        </div>
      ) : null}
    </Modal>
  );
}
