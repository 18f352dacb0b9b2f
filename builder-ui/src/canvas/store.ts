import { create } from 'zustand';
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange } from '@xyflow/react';
import type { FlowDocument, FlowNodeDoc, FlowStats, ValidationError } from '../api/types.ts';
import {
  edgeFromDoc,
  fromDocument,
  nextId,
  nodeFromDoc,
  toDocument,
  type CanvasEdge,
  type CanvasNode,
  type DocumentMeta,
} from '../graph/document.ts';

/**
 * The open flow's editing state: the canvas graph, undo/redo history, clipboard and the overlays drawn on
 * top (validation errors, live counts, a test run's path). One editor is open at a time, so this is a
 * module-level store that `load` resets. `revision` counts document edits; autosave watches it.
 */
interface Snapshot {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  meta: DocumentMeta;
}

/** `backtest` draws a backtest's per-node counts exactly as `live` draws the live ones. */
export type Overlay = 'edit' | 'live' | 'test' | 'backtest';
export const showsCounts = (o: Overlay) => o === 'live' || o === 'backtest';

export interface EditorState extends Snapshot {
  keyOrder: string[];
  past: Snapshot[];
  future: Snapshot[];
  revision: number;
  /** Coalesces bursts of edits to one field (typing) into one undo step. */
  lastCommitKey: string | null;
  lastCommitAt: number;
  clipboard: { nodes: FlowNodeDoc[]; edges: ReturnType<typeof toDocument>['edges'] } | null;
  readOnly: boolean;
  errors: ValidationError[];
  errorsByNode: Record<string, string[]>;
  /** Whether the engine has checked the draft as it is now; until it has, the editor never claims "No problems". */
  checked: 'checking' | 'checked' | 'failed';
  stats: FlowStats['nodes'] | null;
  path: { nodes: Set<string>; edges: Set<string> } | null;
  overlay: Overlay;

  load(doc: FlowDocument, readOnly: boolean): void;
  /** Replaces the whole document as one edit (undoable, saved like any other): restoring a version as the draft. */
  replaceDocument(doc: FlowDocument): void;
  document(): FlowDocument;
  onNodesChange(changes: NodeChange<CanvasNode>[]): void;
  onEdgesChange(changes: EdgeChange<CanvasEdge>[]): void;
  beginDrag(): void;
  endDrag(): void;
  connect(c: Connection): void;
  /** Adds a node (selected); with `from`, also the edge from that node's out-handle to it, as one undo step. */
  addNode(type: string, position: { x: number; y: number }, config: Record<string, unknown>, from?: { source: string; sourceHandle: string | null }): string;
  updateNode(id: string, patch: { config?: Record<string, unknown>; label?: string | undefined; plugin_version?: string | undefined }): void;
  updateMeta(patch: Partial<DocumentMeta>): void;
  deleteSelected(): void;
  selectOnly(id: string | null): void;
  copy(): void;
  paste(): void;
  undo(): void;
  redo(): void;
  applyPositions(positions: Map<string, { x: number; y: number }>): void;
  setErrors(errors: ValidationError[], byNode: Record<string, string[]>): void;
  setChecked(checked: EditorState['checked']): void;
  setStats(stats: FlowStats['nodes'] | null): void;
  setPath(path: { nodes: string[]; edges: string[] } | null): void;
  setOverlay(o: Overlay): void;
}

const HISTORY_LIMIT = 100;

function snapshot(s: Snapshot): Snapshot {
  return { nodes: s.nodes, edges: s.edges, meta: s.meta };
}

function nextEdgeId(edges: CanvasEdge[]): string {
  let max = 0;
  for (const e of edges) {
    const m = /^e(\d+)$/.exec(e.id);
    if (m) max = Math.max(max, Number(m[1]));
  }
  const taken = new Set(edges.map((e) => e.id));
  let n = max + 1;
  while (taken.has(`e${n}`)) n++;
  return `e${n}`;
}

export const useEditor = create<EditorState>()((set, get) => {
  /** Records the state before an edit so it can be undone, then applies the edit and bumps the revision. */
  const commit = (next: Partial<Snapshot>, key: string | null = null) => {
    const s = get();
    if (s.readOnly) return;
    const now = Date.now();
    const coalesce = key !== null && key === s.lastCommitKey && now - s.lastCommitAt < 1500;
    set({
      ...next,
      past: coalesce ? s.past : [...s.past, snapshot(s)].slice(-HISTORY_LIMIT),
      future: [],
      revision: s.revision + 1,
      lastCommitKey: key,
      lastCommitAt: now,
    });
  };

  return {
    nodes: [],
    edges: [],
    meta: { schema: 'cairn.flow/v1', name: '' },
    keyOrder: [],
    past: [],
    future: [],
    revision: 0,
    lastCommitKey: null,
    lastCommitAt: 0,
    clipboard: null,
    readOnly: true,
    errors: [],
    errorsByNode: {},
    checked: 'checking',
    stats: null,
    path: null,
    overlay: 'edit',

    load(doc, readOnly) {
      const g = fromDocument(doc);
      set({
        nodes: g.nodes,
        edges: g.edges,
        meta: g.meta,
        keyOrder: g.keyOrder,
        past: [],
        future: [],
        revision: 0,
        lastCommitKey: null,
        readOnly,
        errors: [],
        errorsByNode: {},
        checked: 'checking',
        stats: null,
        path: null,
        overlay: 'edit',
      });
    },

    replaceDocument(doc) {
      const g = fromDocument(doc);
      commit({ nodes: g.nodes, edges: g.edges, meta: g.meta });
      set({ keyOrder: g.keyOrder });
    },

    document() {
      const s = get();
      return toDocument({ meta: s.meta, keyOrder: s.keyOrder, nodes: s.nodes, edges: s.edges });
    },

    onNodesChange(changes) {
      const s = get();
      // Removal goes through deleteSelected (one undo step for nodes and their edges); dimension and
      // selection changes are view state, not edits.
      const allowed = changes.filter((c) => c.type !== 'remove' && (c.type !== 'position' || !s.readOnly));
      if (allowed.length) set({ nodes: applyNodeChanges(allowed, s.nodes) });
    },

    onEdgesChange(changes) {
      const allowed = changes.filter((c) => c.type !== 'remove');
      if (allowed.length) set({ edges: applyEdgeChanges(allowed, get().edges) });
    },

    beginDrag() {
      const s = get();
      if (s.readOnly) return;
      set({ past: [...s.past, snapshot(s)].slice(-HISTORY_LIMIT), future: [], lastCommitKey: null });
    },

    endDrag() {
      if (!get().readOnly) set({ revision: get().revision + 1 });
    },

    connect(c) {
      const s = get();
      if (!c.source || !c.target || c.source === c.target) return;
      const handle = c.sourceHandle ?? null;
      // One edge per out-handle: connecting from a used handle replaces its edge.
      const kept = s.edges.filter((e) => !(e.source === c.source && (e.sourceHandle ?? null) === handle));
      const doc = handle
        ? { id: nextEdgeId(s.edges), source: c.source, sourceHandle: handle, target: c.target }
        : { id: nextEdgeId(s.edges), source: c.source, target: c.target };
      commit({ edges: [...kept, edgeFromDoc(doc)] });
    },

    addNode(type, position, config, from) {
      const s = get();
      const id = nextId(type, s.nodes.map((n) => n.id));
      const node = { ...nodeFromDoc({ id, type, position, config }), selected: true };
      const nodes = [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node];
      if (!from) {
        commit({ nodes });
        return id;
      }
      const edge = from.sourceHandle
        ? { id: nextEdgeId(s.edges), source: from.source, sourceHandle: from.sourceHandle, target: id }
        : { id: nextEdgeId(s.edges), source: from.source, target: id };
      commit({ nodes, edges: [...s.edges, edgeFromDoc(edge)] });
      return id;
    },

    updateNode(id, patch) {
      const s = get();
      const nodes = s.nodes.map((n) => {
        if (n.id !== id) return n;
        const doc = { ...n.data.doc };
        if (patch.config !== undefined) doc.config = patch.config;
        if ('label' in patch) {
          if (patch.label) doc.label = patch.label;
          else delete doc.label;
        }
        if ('plugin_version' in patch) {
          if (patch.plugin_version) doc.plugin_version = patch.plugin_version;
          else delete doc.plugin_version;
        }
        return { ...n, data: { ...n.data, doc } };
      });
      commit({ nodes }, `node:${id}:${'label' in patch ? 'label' : 'plugin_version' in patch ? 'plugin_version' : 'config'}`);
    },

    updateMeta(patch) {
      commit({ meta: { ...get().meta, ...patch } }, `meta:${Object.keys(patch).join(',')}`);
    },

    deleteSelected() {
      const s = get();
      const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
      const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
      if (gone.size === 0 && edges.length === s.edges.length) return;
      commit({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
    },

    selectOnly(id) {
      const s = get();
      set({
        nodes: s.nodes.map((n) => (n.selected === (n.id === id) ? n : { ...n, selected: n.id === id })),
        edges: s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
      });
    },

    copy() {
      const s = get();
      const doc = s.document();
      const ids = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
      if (ids.size === 0) return;
      set({
        clipboard: {
          nodes: doc.nodes.filter((n) => ids.has(n.id)),
          edges: doc.edges.filter((e) => ids.has(e.source) && ids.has(e.target)),
        },
      });
    },

    paste() {
      const s = get();
      if (!s.clipboard || s.readOnly) return;
      const taken = new Set(s.nodes.map((n) => n.id));
      const rename = new Map<string, string>();
      const added: CanvasNode[] = s.clipboard.nodes.map((n) => {
        const id = nextId(n.id.replace(/_\d+$/, ''), taken);
        taken.add(id);
        rename.set(n.id, id);
        const doc = structuredClone({ ...n, id, position: { x: n.position.x + 40, y: n.position.y + 40 } });
        return { ...nodeFromDoc(doc), selected: true };
      });
      let edges = s.edges.map((e) => (e.selected ? { ...e, selected: false } : e));
      for (const e of s.clipboard.edges) {
        const doc = { ...structuredClone(e), id: nextEdgeId(edges), source: rename.get(e.source)!, target: rename.get(e.target)! };
        edges = [...edges, edgeFromDoc(doc)];
      }
      commit({ nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...added], edges });
      // The next paste lands another step further.
      set({ clipboard: { nodes: s.clipboard.nodes.map((n) => ({ ...n, position: { x: n.position.x + 40, y: n.position.y + 40 } })), edges: s.clipboard.edges } });
    },

    undo() {
      const s = get();
      const prev = s.past.at(-1);
      if (!prev || s.readOnly) return;
      set({ ...prev, past: s.past.slice(0, -1), future: [snapshot(s), ...s.future], revision: s.revision + 1, lastCommitKey: null });
    },

    redo() {
      const s = get();
      const next = s.future[0];
      if (!next || s.readOnly) return;
      set({ ...next, past: [...s.past, snapshot(s)], future: s.future.slice(1), revision: s.revision + 1, lastCommitKey: null });
    },

    applyPositions(positions) {
      const s = get();
      commit({ nodes: s.nodes.map((n) => (positions.has(n.id) ? { ...n, position: positions.get(n.id)! } : n)) });
    },

    setChecked(checked) {
      set({ checked });
    },
    setErrors(errors, errorsByNode) {
      set({ errors, errorsByNode });
    },
    setStats(stats) {
      set({ stats });
    },
    setPath(path) {
      set({ path: path ? { nodes: new Set(path.nodes), edges: new Set(path.edges) } : null });
    },
    setOverlay(overlay) {
      set({ overlay, ...(overlay !== 'test' ? { path: null } : {}), ...(!showsCounts(overlay) || overlay !== get().overlay ? { stats: null } : {}) });
    },
  };
});
