import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import {
  useNodesInitialized,
  useStore,
  Background,
  BackgroundVariant,
  ControlButton,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type Edge,
  type IsValidConnection,
} from '@xyflow/react';
import { ERROR_HANDLE } from '@cairn/engine/contracts';
import { ERROR_LABEL, handlesFor } from '../graph/handles.ts';
import type { CanvasEdge, CanvasNode } from '../graph/document.ts';
import { nodeTypes } from '../nodes/FlowNode.tsx';
import { categoryStyle } from '../ui/icons.tsx';
import { useCatalogMap } from './catalog.ts';
import { showsCounts, useEditor } from './store.ts';
import { defaultConfig } from './defaults.ts';
import { useFitReadable } from './fit.ts';
import { READABLE_MAX_NODES } from '../graph/viewport.ts';

export const DRAG_MIME = 'application/x-cairn-node-type';

const HANDLE_COLORS: Record<string, string> = { true: '#2f9e44', false: '#e03131', timeout: '#868e96', event: '#1c7ed6' };

/** Edge presentation: handle colours and labels, live traffic as stroke width, a test run's path highlighted. */
function useStyledEdges(): Edge[] {
  const edges = useEditor((s) => s.edges);
  const stats = useEditor((s) => (showsCounts(s.overlay) ? s.stats : null));
  const path = useEditor((s) => (s.overlay === 'test' ? s.path : null));
  return useMemo(() => {
    const traffic = (e: CanvasEdge) => stats?.[e.target]?.entered ?? 0;
    const max = stats ? Math.max(1, ...edges.map(traffic)) : 1;
    // Handle names are on the node cards; on big flows the edge copies of them are skipped (each label is
    // measured in the DOM before it can be drawn).
    const labelled = edges.length <= 150;
    return edges.map((e) => {
      const handle = e.sourceHandle ?? null;
      const color = (handle && HANDLE_COLORS[handle]) || '#868e96';
      let strokeWidth = 1.6;
      let stroke = color;
      let opacity = 1;
      let animated = false;
      if (stats) {
        const t = traffic(e);
        strokeWidth = t > 0 ? 2 + 8 * Math.sqrt(t / max) : 1.2;
      }
      if (path) {
        const on = path.edges.has(e.id);
        stroke = on ? '#f08c00' : color;
        strokeWidth = on ? 4 : 1.4;
        opacity = on ? 1 : 0.35;
        animated = on;
      }
      return {
        ...e,
        label: labelled ? (handle === ERROR_HANDLE ? ERROR_LABEL : (handle ?? e.label)) : e.label,
        animated,
        // The error path is a fallback route: dashed and neutral, like the outlet it leaves from.
        style: { stroke, strokeWidth, opacity, strokeDasharray: handle === ERROR_HANDLE && !path ? '6 4' : undefined },
        labelStyle: { fill: color, fontWeight: 600, fontSize: 11 },
        labelBgStyle: { fill: '#fff' },
        labelBgPadding: [4, 2] as [number, number],
        // Sized in pixels, not stroke widths: a busy (thick) edge keeps a normal arrowhead.
        markerEnd: { type: MarkerType.ArrowClosed, color: stroke, width: 18, height: 18, markerUnits: 'userSpaceOnUse' },
        data: { ...e.data, traffic: stats ? traffic(e) : undefined },
      } as Edge;
    });
  }, [edges, stats, path]);
}

function isEditableTarget(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export function Canvas({ onSaveNow }: { onSaveNow?: () => void }) {
  const catalog = useCatalogMap();
  const nodes = useEditor((s) => s.nodes);
  const readOnly = useEditor((s) => s.readOnly);
  const styledEdges = useStyledEdges();
  const { screenToFlowPosition } = useReactFlow();
  const store = useEditor;
  // Fit the view to the flow it opened with; an empty canvas keeps its 1:1 view while nodes are dropped on it.
  // Big flows open as an overview (React Flow's own fit, before the first paint); others at a readable zoom,
  // once their cards are measured.
  const [openedWith] = useState(() => useEditor.getState().nodes.length);
  const fitReadable = useFitReadable();
  const measured = useNodesInitialized();
  const fitted = useRef(false);
  useEffect(() => {
    if (!fitted.current && measured && openedWith > 0 && openedWith <= READABLE_MAX_NODES) fitted.current = fitReadable();
  }, [measured, openedWith, fitReadable]);
  // The minimap sits in its own strip under the canvas (never over nodes) and can be folded away.
  const [showMap, setShowMap] = useState(true);

  const isValidConnection: IsValidConnection = useCallback(
    (c: Connection | Edge) => {
      if (!c.source || !c.target || c.source === c.target) return false;
      const target = store.getState().nodes.find((n) => n.id === c.target);
      if (!target) return false;
      return handlesFor(catalog.get(target.data.doc.type), target.data.doc.type, target.data.doc.config ?? {}).input;
    },
    [catalog, store],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(DRAG_MIME);
      if (!type || store.getState().readOnly) return;
      e.preventDefault();
      const pos = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      // Centre the card (220×~70) on the drop point, on the 10 px grid.
      const position = { x: Math.round((pos.x - 110) / 10) * 10, y: Math.round((pos.y - 30) / 10) * 10 };
      store.getState().addNode(type, position, defaultConfig(catalog.get(type)));
    },
    [catalog, screenToFlowPosition, store],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isEditableTarget(e.target) || document.querySelector('[role="dialog"], [role="alertdialog"]')) return;
      const s = store.getState();
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === 'z' && !e.shiftKey) s.undo();
      else if (mod && (key === 'y' || (key === 'z' && e.shiftKey))) s.redo();
      else if (mod && key === 'c') s.copy();
      else if (mod && key === 'v') s.paste();
      else if (mod && key === 's') onSaveNow?.();
      else if ((e.key === 'Delete' || e.key === 'Backspace') && !mod) s.deleteSelected();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, onSaveNow]);

  // Level of detail: one subscription toggles a class; CSS stops painting text the user cannot read anyway.
  const lowDetail = useStore((s) => s.transform[2] < 0.45);

  const minimapColor = useCallback(
    (n: CanvasNode) => categoryStyle(catalog.get(n.data.doc.type)?.category, n.data.doc.type).color,
    [catalog],
  );

  return (
    <div className={`canvas${lowDetail ? ' lod' : ''}`} onDragOver={onDragOver} onDrop={onDrop} aria-label="Flow canvas">
      <div className="canvas-pane">
      <ReactFlow<CanvasNode, Edge>
        nodes={nodes}
        edges={styledEdges}
        nodeTypes={nodeTypes}
        onNodesChange={useEditor.getState().onNodesChange}
        onEdgesChange={useEditor.getState().onEdgesChange as never}
        onConnect={useEditor.getState().connect}
        onNodeDragStart={useEditor.getState().beginDrag}
        onNodeDragStop={useEditor.getState().endDrag}
        isValidConnection={isValidConnection}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        edgesFocusable
        nodesFocusable
        deleteKeyCode={null}
        multiSelectionKeyCode={['Meta', 'Control', 'Shift']}
        selectionKeyCode="Shift"
        snapToGrid
        snapGrid={[10, 10]}
        fitView={openedWith > READABLE_MAX_NODES}
        fitViewOptions={{ padding: 0.2, maxZoom: 1.1 }}
        minZoom={0.1}
        onlyRenderVisibleElements={nodes.length > 150}
        // A selected (so a dragged) node's edges move to their own SVG layer: the other few hundred edges are
        // then not repainted on every drag frame (W5: this doubles the frame rate in software rendering).
        elevateEdgesOnSelect
        proOptions={{ hideAttribution: true }}
        defaultEdgeOptions={{ type: 'smoothstep' }}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} color="#ced4da" />
      </ReactFlow>
      </div>
      <div className={`canvas-dock${showMap && nodes.length > 0 ? ' with-map' : ''}`}>
        <Controls showInteractive={false} showFitView={false} orientation="horizontal" aria-label="Zoom controls">
          <ControlButton onClick={() => void fitReadable({ duration: 300 })} aria-label="Fit view" title="Fit view (readable zoom)">
            <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><path d="M2 6V2h4M10 2h4v4M14 10v4h-4M6 14H2v-4" fill="none" stroke="currentColor" strokeWidth="1.5" /></svg>
          </ControlButton>
          <ControlButton onClick={() => setShowMap((v) => !v)} aria-label={showMap ? 'Hide minimap' : 'Show minimap'} title={showMap ? 'Hide minimap' : 'Show minimap'} aria-pressed={showMap}>
            <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><rect x="1.5" y="1.5" width="13" height="13" rx="2" fill="none" stroke="currentColor" strokeWidth="1.5" /><rect x="8" y="8" width="5" height="5" fill="currentColor" /></svg>
          </ControlButton>
        </Controls>
        <span className="dock-legend muted small"><span className="legend-error" aria-hidden="true" /> on error: optional outlet, taken if a step still fails after its retries</span>
        {nodes.length > 0 && showMap ? <MiniMap<CanvasNode> pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={3} ariaLabel="Minimap" style={{ width: 180, height: 100 }} /> : null}
      </div>
    </div>
  );
}
