import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../api/client.ts';
import { useCatalog, useFlow, useFlowStats } from '../api/hooks.ts';
import type { CatalogNode, Flow, FlowDocument, ValidationError, ValidationResult } from '../api/types.ts';
import { Canvas } from '../canvas/Canvas.tsx';
import { CatalogContext, useCatalogMap } from '../canvas/catalog.ts';
import { useEditor, type Overlay } from '../canvas/store.ts';
import { checkGraph, errorNodeId } from '../graph/checks.ts';
import { handlesFor } from '../graph/handles.ts';
import { layoutGraph } from '../graph/layout.ts';
import { Inspector, preloadConfigForm } from '../panels/Inspector.tsx';
import { Palette } from '../panels/Palette.tsx';
import { PublishDialog } from '../panels/PublishDialog.tsx';
import { TestPanel } from '../panels/TestPanel.tsx';
import { navigate } from '../router.ts';
import { useCan } from '../session.ts';
import { ErrorBox, Spinner, StatusBadge } from '../ui/common.tsx';
import { Icon } from '../ui/icons.tsx';

type SaveState = 'saved' | 'pending' | 'saving' | 'error';

function groupByNode(errors: ValidationError[], doc: FlowDocument): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const id = errorNodeId(e, doc);
    if (id && !(out[id] ?? []).includes(e.message)) out[id] = [...(out[id] ?? []), e.message];
  }
  return out;
}

export function FlowEditorPage({ flowId }: { flowId: string }) {
  const flow = useFlow(flowId);
  const catalog = useCatalog();
  const catalogMap = useMemo(() => new Map<string, CatalogNode>((catalog.data?.nodes ?? []).map((n) => [n.type, n])), [catalog.data]);
  if (flow.isPending || catalog.isPending) return <div className="page"><Spinner label="Opening flow" /></div>;
  if (flow.error || catalog.error) {
    return (
      <div className="page">
        <ErrorBox error={flow.error ?? catalog.error} onRetry={() => { void flow.refetch(); void catalog.refetch(); }} />
        <button className="btn" onClick={() => navigate('/flows')}><Icon name="back" /> Back to flows</button>
      </div>
    );
  }
  return (
    <CatalogContext.Provider value={catalogMap}>
      <ReactFlowProvider>
        <Editor flow={flow.data} />
      </ReactFlowProvider>
    </CatalogContext.Provider>
  );
}

function Editor({ flow }: { flow: Flow }) {
  const canEdit = useCan('edit') && flow.status !== 'archived';
  const canPublish = useCan('publish') && flow.status !== 'archived';
  const qc = useQueryClient();
  const catalog = useCatalogMap();
  const { fitView } = useReactFlow();
  const revision = useEditor((s) => s.revision);
  const overlay = useEditor((s) => s.overlay);
  const errors = useEditor((s) => s.errors);
  const name = useEditor((s) => s.meta.name);
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const [saveState, setSaveState] = useState<SaveState>('saved');
  const [saveError, setSaveError] = useState<unknown>(null);
  const [publishing, setPublishing] = useState(false);
  const [toast, setToast] = useState<string | null>(null);
  const [liveVersion, setLiveVersion] = useState<number | null>(flow.published_version);
  const savedRevision = useRef(0);
  const saving = useRef<Promise<void>>(Promise.resolve());

  // Load once per flow, before the canvas first renders (it fits its view to what it opens with). Later
  // refetches of the flow must not overwrite edits in progress; the page is keyed by flow id.
  useState(() => useEditor.getState().load(flow.draft, !canEdit));

  /** Client checks at once; the engine's own validation replaces them once the saved draft is checked. */
  const refreshErrors = useCallback(
    (server?: ValidationError[]) => {
      const doc = useEditor.getState().document();
      const errs = server ?? checkGraph(doc, catalog);
      useEditor.getState().setErrors(errs, groupByNode(errs, doc));
    },
    [catalog],
  );

  const validateOnServer = useCallback(
    async (rev: number) => {
      try {
        const res = await api.post<ValidationResult>(`/v1/flows/${flow.id}/validate`, useEditor.getState().document());
        if (useEditor.getState().revision === rev) {
          refreshErrors(res.errors ?? []);
        }
      } catch {
        // Validation is advisory while editing; the client checks stay shown.
      }
    },
    [flow.id, refreshErrors],
  );

  /** Saves the draft if it changed; `force` writes it even unchanged (Ctrl+S: "save what I see"). */
  const save = useCallback(async (force = false) => {
    const run = async () => {
      const s = useEditor.getState();
      const rev = s.revision;
      if (s.readOnly || (rev === savedRevision.current && !force)) return;
      setSaveState('saving');
      try {
        await api.put(`/v1/flows/${flow.id}/draft`, s.document());
        savedRevision.current = rev;
        setSaveError(null);
        setSaveState(useEditor.getState().revision === rev ? 'saved' : 'pending');
        void qc.invalidateQueries({ queryKey: ['/v1/flows'], exact: true });
        void validateOnServer(rev);
      } catch (err) {
        setSaveError(err);
        setSaveState('error');
        if (err instanceof ApiError && err.errors.length) refreshErrors(err.errors);
        throw err;
      }
    };
    saving.current = saving.current.catch(() => undefined).then(run);
    return saving.current;
  }, [flow.id, qc, refreshErrors, validateOnServer]);

  // Drafts save themselves shortly after the last edit.
  useEffect(() => {
    refreshErrors();
    if (revision === 0) {
      if (canEdit) void validateOnServer(0);
      return;
    }
    if (!canEdit || revision === savedRevision.current) return;
    setSaveState('pending');
    const t = setTimeout(() => void save().catch(() => undefined), 700);
    return () => clearTimeout(t);
  }, [revision, canEdit, save, refreshErrors, validateOnServer]);

  useEffect(preloadConfigForm, []);

  // Warn before leaving the page with an edit not yet saved.
  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      if (useEditor.getState().revision !== savedRevision.current) e.preventDefault();
    };
    window.addEventListener('beforeunload', onUnload);
    return () => window.removeEventListener('beforeunload', onUnload);
  }, []);

  const stats = useFlowStats(flow.id, liveVersion, overlay === 'live');
  useEffect(() => {
    if (overlay === 'live') useEditor.getState().setStats(stats.data?.nodes ?? {});
  }, [overlay, stats.data]);

  const autoLayout = async () => {
    const s = useEditor.getState();
    const positions = await layoutGraph(
      s.nodes.map((n) => ({
        id: n.id,
        width: n.measured?.width ?? 220,
        height: n.measured?.height ?? 72,
        outputs: handlesFor(catalog.get(n.data.doc.type), n.data.doc.type, n.data.doc.config ?? {}).outputs.map((o) => o.id),
      })),
      s.edges,
    );
    s.applyPositions(positions);
    requestAnimationFrame(() => void fitView({ padding: 0.2, duration: 300 }));
  };

  const setOverlay = (o: Overlay) => useEditor.getState().setOverlay(overlay === o ? 'edit' : o);
  const versions = [...(flow.versions ?? [])].map((v) => v.version).sort((a, b) => b - a);
  if (flow.published_version && !versions.includes(flow.published_version)) versions.unshift(flow.published_version);

  const saveLabel = !canEdit ? 'Read only' : { saved: 'All changes saved', pending: 'Unsaved changes…', saving: 'Saving…', error: 'Save failed' }[saveState];

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Flow editor">
        <button className="icon-btn" onClick={() => navigate('/flows')} aria-label="Back to flows" title="Back to flows"><Icon name="back" /></button>
        <div className="toolbar-title">
          <h1>{name || 'Untitled flow'}</h1>
          <div className="toolbar-meta">
            <StatusBadge status={flow.status} />
            <span className="muted small">{flow.published_version ? `Published v${flow.published_version}` : 'Never published'}</span>
            <span className={`save-state save-${canEdit ? saveState : 'ro'}`} role="status" aria-live="polite" title={saveError ? String((saveError as Error).message) : undefined}>{saveLabel}</span>
          </div>
        </div>
        <div className="toolbar-group">
          {canEdit ? (
            <>
              <button className="icon-btn" onClick={() => useEditor.getState().undo()} disabled={!canUndo} aria-label="Undo" title="Undo (Ctrl+Z)"><Icon name="undo" /></button>
              <button className="icon-btn" onClick={() => useEditor.getState().redo()} disabled={!canRedo} aria-label="Redo" title="Redo (Ctrl+Y)"><Icon name="redo" /></button>
              <button className="icon-btn" onClick={() => void autoLayout()} aria-label="Auto-layout" title="Auto-layout"><Icon name="layout" /></button>
            </>
          ) : null}
          <button className="icon-btn" onClick={() => void fitView({ padding: 0.2, duration: 300 })} aria-label="Zoom to fit" title="Zoom to fit"><Icon name="fit" /></button>
        </div>
        <div className="toolbar-group">
          <button className={`btn btn-sm${errors.length ? ' btn-warn' : ''}`} aria-label={`${errors.length} problems`} title={errors.map((e) => `${e.node_id ?? e.path}: ${e.message}`).join('\n')}
            onClick={() => { const first = errors.map((e) => errorNodeId(e, useEditor.getState().document())).find(Boolean); if (first) { useEditor.getState().selectOnly(first); void fitView({ nodes: [{ id: first }], duration: 300, maxZoom: 1.2 }); } }}>
            <Icon name={errors.length ? 'warn' : 'check'} /> {errors.length ? `${errors.length} problem${errors.length === 1 ? '' : 's'}` : 'No problems'}
          </button>
          {canEdit ? <button className={`btn btn-sm${overlay === 'test' ? ' on' : ''}`} aria-pressed={overlay === 'test'} onClick={() => setOverlay('test')}><Icon name="beaker" /> Test</button> : null}
          <button className={`btn btn-sm${overlay === 'live' ? ' on' : ''}`} aria-pressed={overlay === 'live'} onClick={() => setOverlay('live')} disabled={!flow.published_version}><Icon name="pulse" /> Live</button>
          {overlay === 'live' && versions.length ? (
            <select aria-label="Version" value={liveVersion ?? ''} onChange={(e) => setLiveVersion(Number(e.target.value))}>
              {versions.map((v) => <option key={v} value={v}>v{v}</option>)}
            </select>
          ) : null}
          {canPublish ? <button className="btn btn-primary btn-sm" onClick={() => setPublishing(true)}>Publish…</button> : null}
        </div>
      </div>
      {overlay === 'live' && stats.data ? (
        <div className="livebar" aria-label="Run totals">
          <span><b>{stats.data.runs?.active ?? 0}</b> active</span>
          <span><b>{stats.data.runs?.completed ?? 0}</b> completed</span>
          <span><b>{stats.data.runs?.converted ?? 0}</b> converted</span>
          <span><b>{stats.data.runs?.exited ?? 0}</b> exited</span>
          <span><b>{stats.data.runs?.failed ?? 0}</b> failed</span>
          <span className="muted small">refreshing every 2 s</span>
          <a href={`/runs?flow_id=${flow.id}`} onClick={(e) => { e.preventDefault(); navigate(`/runs?flow_id=${flow.id}`); }}>See runs →</a>
        </div>
      ) : null}
      {saveState === 'error' && saveError ? <ErrorBox error={saveError} onRetry={() => void save().catch(() => undefined)} /> : null}
      <div className={`editor-body${canEdit ? '' : ' no-palette'}`}>
        {canEdit ? <Palette /> : null}
        <Canvas onSaveNow={() => void save(true).catch(() => undefined)} />
        {overlay === 'test' ? <TestPanel flowId={flow.id} beforeRun={() => save()} /> : <Inspector />}
      </div>
      {toast ? <div className="toast" role="status" onAnimationEnd={() => setToast(null)}>{toast}</div> : null}
      {publishing ? (
        <PublishDialog
          flow={flow}
          current={useEditor.getState().document()}
          beforePublish={() => save()}
          onClose={() => setPublishing(false)}
          onRefused={(err) => refreshErrors(err.errors)}
          onPublished={(version) => {
            setPublishing(false);
            setToast(`Published version ${version}`);
            setLiveVersion(version);
            void qc.invalidateQueries({ queryKey: ['/v1/flows'] });
          }}
        />
      ) : null}
    </div>
  );
}
