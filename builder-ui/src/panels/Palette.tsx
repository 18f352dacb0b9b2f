import { useMemo, useState } from 'react';
import { useReactFlow } from '@xyflow/react';
import { ERROR_HANDLE } from '@cairn/engine/contracts';
import type { CatalogNode } from '../api/types.ts';
import type { CanvasEdge, CanvasNode } from '../graph/document.ts';
import { handlesFor } from '../graph/handles.ts';
import { freeSpot } from '../graph/place.ts';
import { DRAG_MIME } from '../canvas/Canvas.tsx';
import { useCatalogMap } from '../canvas/catalog.ts';
import { defaultConfig } from '../canvas/defaults.ts';
import { useEditor } from '../canvas/store.ts';
import { categoryStyle, Icon } from '../ui/icons.tsx';

/** A node card's size before React Flow has measured it. */
const NODE_SIZE = { width: 220, height: 80 };

const CATEGORY_ORDER = ['trigger', 'logic', 'timing', 'action', 'plugin', 'end'];
const CATEGORY_LABELS: Record<string, string> = { trigger: 'Triggers', logic: 'Logic', timing: 'Timing', action: 'Actions', plugin: 'Plugins', end: 'End' };

/** The node palette, built from the catalog alone: search, grouped by category, drag onto the canvas, or click / Enter. */
export function Palette() {
  const catalog = useCatalogMap();
  const [query, setQuery] = useState('');
  const { screenToFlowPosition } = useReactFlow();
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const byCat = new Map<string, CatalogNode[]>();
    for (const entry of catalog.values()) {
      const hay = `${entry.title} ${entry.type} ${entry.description ?? ''} ${entry.category}`.toLowerCase();
      if (q && !hay.includes(q)) continue;
      const cat = entry.category || 'other';
      byCat.set(cat, [...(byCat.get(cat) ?? []), entry]);
    }
    const rank = (c: string) => (CATEGORY_ORDER.indexOf(c) === -1 ? CATEGORY_ORDER.length : CATEGORY_ORDER.indexOf(c));
    return [...byCat.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
  }, [catalog, query]);

  /**
   * Click or Enter (the alternative to dragging): the node goes to a free spot below the selected node, joined to
   * its first free out-handle, or to a free spot at the centre of the view when nothing is selected.
   */
  const add = (entry: CatalogNode) => {
    const s = useEditor.getState();
    const el = document.querySelector('.canvas')?.getBoundingClientRect();
    const centre = el ? screenToFlowPosition({ x: el.left + el.width / 2, y: el.top + el.height / 2 }) : { x: 0, y: 0 };
    const box = (n: CanvasNode) => ({ x: n.position.x, y: n.position.y, width: n.measured?.width ?? NODE_SIZE.width, height: n.measured?.height ?? NODE_SIZE.height });
    const selected = s.nodes.filter((n) => n.selected);
    const anchor = selected.length === 1 ? selected[0] : null;
    const position = freeSpot(NODE_SIZE, s.nodes.map(box), anchor ? box(anchor) : null, centre);
    const config = defaultConfig(entry);
    const takesInput = handlesFor(entry, entry.type, config).input;
    const out = anchor && takesInput ? freeOutput(anchor, s.edges) : undefined;
    s.addNode(entry.type, position, config, out === undefined ? undefined : { source: anchor!.id, sourceHandle: out });
  };

  /** The selected node's first out-handle without an edge (the optional `error` outlet is never picked). */
  const freeOutput = (node: CanvasNode, edges: CanvasEdge[]): string | null | undefined => {
    const outs = handlesFor(catalog.get(node.data.doc.type), node.data.doc.type, node.data.doc.config ?? {}).outputs.filter((o) => o.id !== ERROR_HANDLE);
    return outs.find((o) => !edges.some((e) => e.source === node.id && (e.sourceHandle ?? null) === o.id))?.id;
  };

  return (
    <aside className="palette" aria-label="Node palette">
      <div className="palette-search">
        <Icon name="search" size={14} />
        <input type="search" aria-label="Search nodes" placeholder="Search nodes" value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      <div className="palette-list">
        {groups.length === 0 ? <div className="muted small pad">No node matches “{query}”.</div> : null}
        {groups.map(([cat, entries]) => {
          const style = categoryStyle(cat);
          return (
            <section key={cat} className="palette-group">
              <h3 style={{ borderLeft: `3px solid ${style.color}`, paddingLeft: 6 }}>{CATEGORY_LABELS[cat] ?? cat}</h3>
              {entries.map((entry) => {
                const s = categoryStyle(entry.category, entry.type);
                return (
                  <div
                    key={entry.type}
                    className="palette-item"
                    draggable
                    tabIndex={0}
                    role="button"
                    aria-label={`Add ${entry.title}`}
                    title={entry.description?.replaceAll('`', '') ?? entry.type}
                    data-type={entry.type}
                    style={{ ['--cat' as string]: s.color }}
                    onDragStart={(e) => {
                      e.dataTransfer.setData(DRAG_MIME, entry.type);
                      e.dataTransfer.effectAllowed = 'copy';
                    }}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        add(entry);
                      }
                    }}
                    onClick={() => add(entry)}
                  >
                    <span className="palette-icon"><Icon name={s.icon} size={14} /></span>
                    <span className="palette-title">{entry.title}</span>
                  </div>
                );
              })}
            </section>
          );
        })}
      </div>
    </aside>
  );
}
