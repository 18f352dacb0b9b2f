import { useMemo, useState } from 'react';
import { useReactFlow } from '@xyflow/react';
import type { CatalogNode } from '../api/types.ts';
import { DRAG_MIME } from '../canvas/Canvas.tsx';
import { useCatalogMap } from '../canvas/catalog.ts';
import { defaultConfig } from '../canvas/defaults.ts';
import { useEditor } from '../canvas/store.ts';
import { categoryStyle, Icon } from '../ui/icons.tsx';

const CATEGORY_ORDER = ['trigger', 'logic', 'timing', 'action', 'plugin', 'end'];
const CATEGORY_LABELS: Record<string, string> = { trigger: 'Triggers', logic: 'Logic', timing: 'Timing', action: 'Actions', plugin: 'Plugins', end: 'End' };

/** The node palette, built from the catalog alone: search, grouped by category, drag onto the canvas (or Enter). */
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

  /** Keyboard alternative to dragging: drop at the centre of the visible canvas. */
  const addAtCentre = (entry: CatalogNode) => {
    const el = document.querySelector('.canvas')?.getBoundingClientRect();
    const centre = el ? screenToFlowPosition({ x: el.left + el.width / 2, y: el.top + el.height / 2 }) : { x: 0, y: 0 };
    useEditor.getState().addNode(entry.type, { x: Math.round((centre.x - 110) / 10) * 10, y: Math.round(centre.y / 10) * 10 }, defaultConfig(entry));
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
                        addAtCentre(entry);
                      }
                    }}
                    onDoubleClick={() => addAtCentre(entry)}
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
