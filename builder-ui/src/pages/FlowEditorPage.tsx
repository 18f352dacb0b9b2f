import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { useQueryClient } from '@tanstack/react-query';
import { api, ApiError, ok } from '../api/client.ts';
import { trackDraftSave } from '../api/drafts.ts';
import { asFlow, fetchFlow, useCatalog, useFields, useFlow, useFlowStats } from '../api/hooks.ts';
import type { CatalogNode, Flow, FlowDocument, ValidationError } from '../api/types.ts';
import { Canvas } from '../canvas/Canvas.tsx';
import { CatalogContext, useCatalogMap } from '../canvas/catalog.ts';
import { useFitReadable } from '../canvas/fit.ts';
import { FieldsContext } from '../canvas/fields.ts';
import { useEditor, type Overlay } from '../canvas/store.ts';
import { checkGraph, errorNodeId } from '../graph/checks.ts';
import { handlesFor } from '../graph/handles.ts';
import { layoutGraph } from '../graph/layout.ts';
import type { KnownFields } from '../graph/rules.ts';
import { Inspector, preloadConfigForm } from '../panels/Inspector.tsx';
import { Palette } from '../panels/Palette.tsx';
import { PublishDialog } from '../panels/PublishDialog.tsx';
import { HistoryDialog } from '../panels/HistoryDialog.tsx';
import { TestPanel } from '../panels/TestPanel.tsx';
import { BacktestPanel } from '../panels/BacktestPanel.tsx';
import { FlowFigures } from '../panels/FlowFigures.tsx';
import { navigate } from '../router.ts';
import { useCan } from '../session.ts';
import { ErrorBox, Modal, Spinner, StatusBadge } from '../ui/common.tsx';
import { Icon } from '../ui/icons.tsx';

type SaveState = 'saved' | 'pending' | 'saving' | 'error' | 'conflict';

/** A 409 from a save whose If-Match no longer matches: the draft was saved from somewhere else meanwhile. */
const isDraftConflict = (err: unknown) => err instanceof ApiError && err.status === 409 && err.errors.some((e) => e.path === '/headers/if-match');

function groupByNode(errors: ValidationError[], doc: FlowDocument): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const id = errorNodeId(e, doc);
    if (id && !(out[id] ?? []).includes(e.message)) out[id] = [...(out[id] ?? []), e.message];
  }
  return out;
}

const NO_FIELDS: KnownFields = { contact_properties: [], tags: [], events: [] };

export function FlowEditorPage({ flowId }: { flowId: string }) {
  const flow = useFlow(flowId);
  const catalog = useCatalog();
  const fields = useFields();
  const qc = useQueryClient();
  const catalogMap = useMemo(() => new Map<string, CatalogNode>((catalog.data?.nodes ?? []).map((n) => [n.type, n])), [catalog.data]);
  // The editor opens on the server's current draft: a cached copy that is being fetched again is not shown.
  // Once open, later refetches never reload it (that would drop edits in progress); `loads` counts explicit reloads.
  const [opened, setOpened] = useState(false);
  const [loads, setLoads] = useState(0);
  if (!opened && flow.data && !flow.isFetching && !catalog.isPending) setOpened(true);
  const reload = async () => {
    await qc.fetchQuery({ queryKey: ['/v1/flows', flowId], queryFn: ({ signal }) => fetchFlow(flowId, signal), staleTime: 0 });
    setLoads((n) => n + 1);
  };
  if ((!opened && !flow.error) || catalog.isPending) return <div className="page"><Spinner label="Opening flow" /></div>;
  if ((!opened && flow.error) || catalog.error) {
    return (
      <div className="page">
        <ErrorBox error={flow.error ?? catalog.error} onRetry={() => { void flow.refetch(); void catalog.refetch(); }} />
        <button className="btn" onClick={() => navigate('/flows')}><Icon name="back" /> Back to flows</button>
      </div>
    );
  }
  return (
    <CatalogContext.Provider value={catalogMap}>
      <FieldsContext.Provider value={fields.data ?? NO_FIELDS}>
        <ReactFlowProvider>
          <Editor key={loads} flow={flow.data!} onReload={reload} />
        </ReactFlowProvider>
      </FieldsContext.Provider>
    </CatalogContext.Provider>
  );
}

function Editor({ flow, onReload }: { flow: Flow; onReload: () => Promise<void> }) {
  const canEdit = useCan('edit') && flow.status !== 'archived';
  const canPublish = useCan('publish') && flow.status !== 'archived';
  const qc = useQueryClient();
  const catalog = useCatalogMap();
  const { fitView } = useReactFlow();
  const fitReadable = useFitReadable();
  const revision = useEditor((s) => s.revision);
  const overlay = useEditor((s) => s.overlay);
  const errors = useEditor((s) => s.errors);
  const name = useEditor((s) => s.meta.name);
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const [saveState, setSaveState] = useState<SaveState>('saved');
  const [saveError, setSaveError] = useState<unknown>(null);
  const checked = useEditor((s) => s.checked);
  const [publishing, setPublishing] = useState(false);
  const [history, setHistory] = useState(false);
  const [statusError, setStatusError] = useState<unknown>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [liveVersion, setLiveVersion] = useState<number | null>(flow.published_version);
  const savedRevision = useRef(0);
  const saving = useRef<Promise<void>>(Promise.resolve());
  /** The draft's entity tag as last loaded or saved here; every save sends it as If-Match. */
  const etag = useRef(flow.draft_etag);
  /** Set once a save was refused as stale: nothing more is saved from this copy unless the user says so. */
  const conflicted = useRef(false);
  /** False once the editor is left: a save flushed on the way out must not touch the (shared) store after that. */
  const open = useRef(true);

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
        // The engine checks the draft it stores (the save before this call), not a document sent along.
        const res = await ok(api.POST('/v1/flows/{id}/validate', { params: { path: { id: flow.id } } }));
        if (open.current && useEditor.getState().revision === rev) {
          refreshErrors(res.errors ?? []);
          useEditor.getState().setChecked('checked');
        }
      } catch {
        // Validation is advisory while editing: the canvas's own checks stay shown, and the badge says the engine
        // could not check rather than "No problems".
        if (open.current && useEditor.getState().revision === rev) useEditor.getState().setChecked('failed');
      }
    },
    [flow.id, refreshErrors],
  );

  /**
   * Saves the draft as it is now if it changed since the last save; `force` writes it even unchanged (Ctrl+S:
   * "save what I see"), `overwrite` without If-Match (the user chose to replace a draft changed elsewhere),
   * `keepalive` so the request outlives a closing tab. Saves run one after another.
   */
  const save = useCallback((opts: { force?: boolean; overwrite?: boolean; keepalive?: boolean } = {}) => {
    // The document is taken now, not when the queued save runs: the editor may be gone (and the store reused) by then.
    const s = useEditor.getState();
    const rev = s.revision;
    const doc = s.document();
    const run = async () => {
      if (s.readOnly || (rev === savedRevision.current && !opts.force) || (conflicted.current && !opts.overwrite)) return;
      setSaveState('saving');
      try {
        const saved = asFlow(await ok(api.PUT('/v1/flows/{id}/draft', {
          params: { path: { id: flow.id }, header: !opts.overwrite && etag.current ? { 'if-match': etag.current } : {} },
          body: doc,
          keepalive: opts.keepalive,
        })));
        etag.current = saved.draft_etag;
        conflicted.current = false;
        savedRevision.current = rev;
        setSaveError(null);
        setSaveState(useEditor.getState().revision === rev ? 'saved' : 'pending');
        // The cache holds what was saved, so reopening the flow shows it (and its new tag).
        qc.setQueryData(['/v1/flows', flow.id], saved);
        void qc.invalidateQueries({ queryKey: ['/v1/flows'], exact: true });
        if (!open.current) return;
        useEditor.getState().setChecked('checking');
        void validateOnServer(rev);
      } catch (err) {
        setSaveError(err);
        if (!open.current) throw err;
        if (isDraftConflict(err)) {
          conflicted.current = true;
          setSaveState('conflict');
          return;
        }
        setSaveState('error');
        if (err instanceof ApiError && err.errors.length) refreshErrors(err.errors);
        throw err;
      }
    };
    saving.current = saving.current.catch(() => undefined).then(run);
    trackDraftSave(flow.id, saving.current);
    return saving.current;
  }, [flow.id, qc, refreshErrors, validateOnServer]);

  // Drafts save themselves shortly after the last edit.
  useEffect(() => {
    refreshErrors();
    if (revision === 0) {
      if (canEdit) void validateOnServer(0);
      else useEditor.getState().setChecked('failed');
      return;
    }
    if (!canEdit || revision === savedRevision.current) return;
    setSaveState('pending');
    const t = setTimeout(() => void save().catch(() => undefined), 700);
    return () => clearTimeout(t);
  }, [revision, canEdit, save, refreshErrors, validateOnServer]);

  useEffect(preloadConfigForm, []);

  // Leaving with an edit not yet saved: moving to another screen saves it on the way out; closing or reloading
  // the tab asks first and sends the save with keepalive, so it lands even if the page goes.
  useEffect(() => {
    const unsaved = () => canEdit && !conflicted.current && useEditor.getState().revision !== savedRevision.current;
    const onUnload = (e: BeforeUnloadEvent) => {
      if (!unsaved()) return;
      e.preventDefault();
      e.returnValue = '';
      void save({ keepalive: true }).catch(() => undefined);
    };
    window.addEventListener('beforeunload', onUnload);
    open.current = true;
    return () => {
      window.removeEventListener('beforeunload', onUnload);
      if (unsaved()) void save().catch(() => undefined);
      open.current = false;
    };
  }, [save, canEdit]);

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
    requestAnimationFrame(() => void fitReadable({ duration: 300 }));
  };

  /** Pause or resume the flow from the editor: the status comes back with the refetched flow. */
  const setStatus = async (action: 'pause' | 'resume') => {
    setStatusError(null);
    try {
      await ok(api.POST(`/v1/flows/{id}/${action}`, { params: { path: { id: flow.id } } }));
      setToast(action === 'pause' ? 'Paused: no new runs start' : 'Resumed: new runs start again');
    } catch (err) {
      setStatusError(err);
    }
    await qc.invalidateQueries({ queryKey: ['/v1/flows'] });
  };

  const setOverlay = (o: Overlay) => useEditor.getState().setOverlay(overlay === o ? 'edit' : o);
  const versions = [...(flow.versions ?? [])].map((v) => v.version).sort((a, b) => b - a);
  if (flow.published_version && !versions.includes(flow.published_version)) versions.unshift(flow.published_version);

  const saveLabel = !canEdit ? 'Read only' : { saved: 'All changes saved', pending: 'Unsaved changes…', saving: 'Saving…', error: 'Save failed', conflict: 'Not saved: changed elsewhere' }[saveState];
  const problems = errors.length
    ? `${errors.length} problem${errors.length === 1 ? '' : 's'}`
    : { checking: 'Checking…', checked: '0 problems', failed: 'Not checked' }[checked];
  const problemsLabel = errors.length || checked === 'checked' ? `${errors.length} problem${errors.length === 1 ? '' : 's'}` : checked === 'checking' ? 'Checking… for problems' : 'Not checked for problems';

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
          <button className="icon-btn" onClick={() => void fitReadable({ duration: 300 })} aria-label="Zoom to fit" title="Zoom to fit"><Icon name="fit" /></button>
        </div>
        <div className="toolbar-group">
          <button className={`btn btn-sm${errors.length || checked === 'failed' ? ' btn-warn' : ''}`} aria-label={problemsLabel}
            title={checked === 'failed' && !errors.length ? 'The engine could not check this draft; click to try again.' : errors.map((e) => `${e.node_id ?? e.path}: ${e.message}`).join('\n')}
            onClick={() => {
              if (checked === 'failed') { useEditor.getState().setChecked('checking'); void validateOnServer(useEditor.getState().revision); }
              const first = errors.map((e) => errorNodeId(e, useEditor.getState().document())).find(Boolean);
              if (first) { useEditor.getState().selectOnly(first); void fitView({ nodes: [{ id: first }], duration: 300, maxZoom: 1.2 }); }
            }}>
            <Icon name={errors.length || checked === 'failed' ? 'warn' : 'check'} /> {problems}
          </button>
          {canEdit ? <button className={`btn btn-sm${overlay === 'test' ? ' on' : ''}`} aria-pressed={overlay === 'test'} onClick={() => setOverlay('test')}><Icon name="beaker" /> Test</button> : null}
          {canEdit ? <button className={`btn btn-sm${overlay === 'backtest' ? ' on' : ''}`} aria-pressed={overlay === 'backtest'} onClick={() => setOverlay('backtest')}><Icon name="runs" /> Backtest</button> : null}
          <button className={`btn btn-sm${overlay === 'live' ? ' on' : ''}`} aria-pressed={overlay === 'live'} onClick={() => setOverlay('live')} disabled={!flow.published_version}><Icon name="pulse" /> Live</button>
          {overlay === 'live' && versions.length ? (
            <select aria-label="Version" value={liveVersion ?? ''} onChange={(e) => setLiveVersion(Number(e.target.value))}>
              {versions.map((v) => <option key={v} value={v}>v{v}</option>)}
            </select>
          ) : null}
          <button className="btn btn-sm" onClick={() => setHistory(true)}><Icon name="runs" /> History</button>
          {canPublish && flow.status === 'active' ? <button className="btn btn-sm" onClick={() => void setStatus('pause')}>Pause</button> : null}
          {canPublish && flow.status === 'paused' ? <button className="btn btn-sm" onClick={() => void setStatus('resume')}>Resume</button> : null}
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
          <FlowFigures flowId={flow.id} stats={stats.data.nodes} />
          <span className="muted small">refreshing every 2 s</span>
          <a href={`/runs?flow_id=${flow.id}`} onClick={(e) => { e.preventDefault(); navigate(`/runs?flow_id=${flow.id}`); }}>See runs →</a>
        </div>
      ) : null}
      {statusError ? <ErrorBox error={statusError} /> : null}
      {history ? (
        <HistoryDialog
          flow={flow}
          canEdit={canEdit}
          onClose={() => setHistory(false)}
          onRestored={(version) => { setHistory(false); setToast(`Version ${version} restored as the draft — publish to make it live`); }}
        />
      ) : null}
      {saveState === 'error' && saveError ? <ErrorBox error={saveError} onRetry={() => void save().catch(() => undefined)} /> : null}
      {saveState === 'conflict' ? (
        <Modal
          alert
          title="This flow changed elsewhere"
          onClose={() => undefined}
          footer={
            <>
              <button className="btn" onClick={() => void save({ overwrite: true }).catch(() => undefined)}>Replace it with my copy</button>
              <button className="btn btn-primary" onClick={() => void onReload()}>Reload the latest draft</button>
            </>
          }
        >
          <p>Someone saved this flow's draft after you opened it (perhaps you, in another tab). Your last change was not saved, so nothing was overwritten.</p>
          <p>Reload to continue from the latest draft, or replace it with what you see here.</p>
        </Modal>
      ) : null}
      <div className={`editor-body${canEdit ? '' : ' no-palette'}`}>
        {canEdit ? <Palette /> : null}
        <Canvas onSaveNow={() => void save({ force: true }).catch(() => undefined)} />
        {overlay === 'test' ? <TestPanel flowId={flow.id} beforeRun={() => save()} /> : overlay === 'backtest' ? <BacktestPanel flow={flow} beforeRun={() => save()} /> : <Inspector />}
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
