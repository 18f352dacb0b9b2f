import { memo, useEffect, useState } from 'react';
import { Handle, Position, useUpdateNodeInternals, type NodeProps } from '@xyflow/react';
import { ERROR_HANDLE } from '@cairn/engine/contracts';
import { handlesFor } from '../graph/handles.ts';
import type { CanvasNode } from '../graph/document.ts';
import { useCatalogMap } from '../canvas/catalog.ts';
import { showsCounts, useEditor } from '../canvas/store.ts';
import { categoryStyle, Icon } from '../ui/icons.tsx';
import { summarize } from './summary.ts';

const EMPTY: string[] = [];
const OPTIONAL_ERROR = 'Optional: where the contact goes if this step still fails after its retries (left unconnected, the run fails)';

/**
 * Runs that entered a step and neither went on, failed nor wait there: they ended at it, mostly by conversion
 * (the goal met while waiting) or an exit rule. The engine counts entered/completed/failed/waiting per node.
 */
const endedHere = (s: { entered: number; completed: number; failed: number; waiting: number } | undefined) =>
  s ? Math.max(0, s.entered - s.completed - s.failed - s.waiting) : 0;

/** The value on first render (re-measuring then is React Flow's own job). */
function useFirstValue<T>(value: T): T {
  const [first] = useState(value);
  return first;
}

/** The one node component: everything it shows comes from the catalog entry and the node's config. */
function FlowNodeView({ id, data, selected }: NodeProps<CanvasNode>) {
  const catalog = useCatalogMap();
  const { type, config, label } = data.doc;
  const entry = catalog.get(type);
  const style = categoryStyle(entry?.category, type);
  const spec = handlesFor(entry, type, config ?? {});
  const errors = useEditor((s) => s.errorsByNode[id] ?? EMPTY);
  const stats = useEditor((s) => (showsCounts(s.overlay) ? s.stats?.[id] : undefined));
  const onPath = useEditor((s) => (s.overlay === 'test' && s.path ? s.path.nodes.has(id) : null));
  const counts = useEditor((s) => (showsCounts(s.overlay) ? s.overlay : null));
  const summary = summarize(config ?? {}, entry?.config_schema);
  // Outs can change with the config (a split's branches): React Flow must re-measure the handles then.
  const updateNodeInternals = useUpdateNodeInternals();
  const outKey = spec.outputs.map((o) => o.id ?? '').join('\u0000');
  const firstOutKey = useFirstValue(outKey);
  useEffect(() => {
    if (outKey !== firstOutKey) updateNodeInternals(id);
  }, [outKey, firstOutKey, id, updateNodeInternals]);
  const named = spec.outputs.some((o) => o.id !== null);
  const classes = ['fnode', named ? 'has-named-outs' : '', selected ? 'is-selected' : '', errors.length ? 'has-error' : '', onPath === true ? 'on-path' : onPath === false ? 'off-path' : ''];

  return (
    <div className={classes.join(' ')} style={{ ['--cat' as string]: style.color }} data-node-id={id} data-testid={`node-${id}`}>
      {spec.input ? <Handle type="target" position={Position.Top} className="h-in" role="img" aria-label={`${id} input`} /> : null}
      <div className="fnode-head">
        <span className="fnode-icon"><Icon name={style.icon} size={14} /></span>
        <span className="fnode-title">{label || entry?.title || type}</span>
        {errors.length ? <span className="fnode-err" role="img" title={errors.join('\n')} aria-label={`${errors.length} problem(s)`}><Icon name="warn" size={14} /></span> : null}
      </div>
      <div className="fnode-body">
        {counts ? (
          // Counts take the summary's place (same height), so switching to Live or Backtest never grows a card into its neighbours.
          <div className="fnode-stats" aria-label={counts === 'live' ? 'Live counts' : 'Backtest counts'} title={summary || undefined}>
            <span><b>{stats?.entered ?? 0}</b> in</span>
            <span className="st-wait"><b>{stats?.waiting ?? 0}</b> waiting</span>
            <span className="st-done"><b>{stats?.completed ?? 0}</b> done</span>
            <span className="st-fail"><b>{stats?.failed ?? 0}</b> failed</span>
            <span className="st-ended" title="Runs that ended at this step without going on: converted (goal met), exited or cancelled"><b>{endedHere(stats)}</b> ended here</span>
          </div>
        ) : (
          <>
            <div className="fnode-summary">{summary || <span className="muted">{entry ? 'Not configured' : `Unknown type ${type}`}</span>}</div>
            {errors.length ? <div className="fnode-errors" role="alert">{errors[0]}{errors.length > 1 ? ` (+${errors.length - 1})` : ''}</div> : null}
          </>
        )}
      </div>
      {spec.outputs.length ? (
        <div className="fnode-outs">
          {spec.outputs.map((out, i) => {
            const left = `${((i + 1) / (spec.outputs.length + 1)) * 100}%`;
            return (
              <div key={out.id ?? '__default'} className={`fnode-out out-${out.id ?? 'default'}`} style={{ left }}>
                {out.id ? <span className="fnode-out-label" title={out.id === ERROR_HANDLE ? OPTIONAL_ERROR : undefined}>{out.label}</span> : null}
                <Handle
                  type="source"
                  position={Position.Bottom}
                  id={out.id ?? undefined}
                  className={`h-out h-${out.id ?? 'default'}`}
                  role="img"
                  aria-label={`${id} ${out.id ?? 'next'} output${out.id === ERROR_HANDLE ? ' (optional)' : ''}`}
                  title={out.id === ERROR_HANDLE ? OPTIONAL_ERROR : undefined}
                  data-handle={out.id ?? 'default'}
                />
              </div>
            );
          })}
        </div>
      ) : null}
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
export const nodeTypes = { cairn: FlowNode };
