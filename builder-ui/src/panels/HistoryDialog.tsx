import { useState } from 'react';
import { errorMessage } from '../api/client.ts';
import { fetchFlowVersion } from '../api/hooks.ts';
import type { Flow } from '../api/types.ts';
import { useEditor } from '../canvas/store.ts';
import { Modal, formatTime } from '../ui/common.tsx';

/**
 * The flow's published versions, newest first. "Restore as draft" puts a version's document into the editor as
 * one undoable edit; it is saved like any other and goes live only when published.
 */
export function HistoryDialog({ flow, canEdit, onClose, onRestored }: { flow: Flow; canEdit: boolean; onClose: () => void; onRestored: (version: number) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const versions = [...(flow.versions ?? [])].sort((a, b) => b.version - a.version);
  const restore = async (version: number) => {
    setBusy(version);
    setError(null);
    try {
      const v = await fetchFlowVersion(flow.id, version);
      useEditor.getState().replaceDocument(v.document);
      onRestored(version);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };
  return (
    <Modal title="Version history" onClose={onClose} wide>
      {versions.length === 0 ? <p className="muted">Nothing published yet: versions appear here each time the flow is published.</p> : (
        <table className="table" aria-label="Versions">
          <thead><tr><th>Version</th><th>Published</th><th>Note</th>{canEdit ? <th aria-label="Actions" /> : null}</tr></thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <td>v{v.version}{v.version === flow.published_version ? <span className="badge badge-green">live</span> : null}</td>
                <td className="muted">{formatTime(v.published_at)}</td>
                <td>{v.note || <span className="muted">—</span>}</td>
                {canEdit ? (
                  <td className="row-actions">
                    <button className="btn btn-sm" disabled={busy !== null} onClick={() => void restore(v.version)} aria-label={`Restore v${v.version} as draft`}>Restore as draft</button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {error ? <p className="error-text">{error}</p> : null}
    </Modal>
  );
}
