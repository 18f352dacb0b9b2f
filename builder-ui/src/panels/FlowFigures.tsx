import { useMemo } from 'react';
import { useKpis } from '../api/kpis.ts';
import type { FlowStats } from '../api/types.ts';
import { useCatalogMap } from '../canvas/catalog.ts';
import { useEditor } from '../canvas/store.ts';

const DAY = 86_400_000;
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const pts = (v: number) => `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)}`;

/**
 * Drop-off per node from live counts: of the runs that entered a node and are no longer waiting in it, those that
 * entered none of the nodes it leads to (ended there, or took an out with nothing connected).
 */
export function dropOff(stats: FlowStats['nodes'], edges: { source: string; target: string }[]): Record<string, { entered: number; left: number; rate: number | null }> {
  const out: Record<string, { entered: number; left: number; rate: number | null }> = {};
  for (const [id, s] of Object.entries(stats)) {
    const next = edges.filter((e) => e.source === id).reduce((sum, e) => sum + (stats[e.target]?.entered ?? 0), 0);
    const settled = s.entered - s.waiting;
    const left = Math.max(0, settled - next);
    out[id] = { entered: s.entered, left, rate: settled > 0 ? left / settled : null };
  }
  return out;
}

/** The flow's own figures on its page (issue 13): conversion and holdout lift over the last 12 months, drop-off per node. */
export function FlowFigures({ flowId, stats }: { flowId: string; stats: FlowStats['nodes'] }) {
  const filters = useMemo(() => {
    const end = new Date();
    end.setUTCHours(24, 0, 0, 0);
    return { from: new Date(end.getTime() - 365 * DAY).toISOString(), to: end.toISOString(), interval: 'month' as const, flow_id: flowId };
  }, [flowId]);
  const kpis = useKpis(filters);
  const edges = useEditor((s) => s.edges);
  const nodes = useEditor((s) => s.nodes);
  const catalog = useCatalogMap();
  const f = kpis.data?.flows.find((x) => x.flow_id === flowId);
  const drops = dropOff(stats, edges);
  const name = (id: string) => {
    const n = nodes.find((x) => x.id === id);
    return n ? (n.data.doc.label || catalog.get(n.data.doc.type)?.title || n.data.doc.type) : id;
  };
  return (
    <>
      <span aria-label="Conversion, last 12 months">
        {!f ? <span className="muted small">no runs in the last 12 months</span> : !f.has_goal ? <span title="This flow has no goal: conversion means nothing">No goal</span> : (
          <><b>{f.conversion_rate === null ? '—' : pct(f.conversion_rate)}</b> converted ({f.converted} of {f.entered}, 12 months)</>
        )}
      </span>
      {f?.lift ? <span aria-label="Lift over holdout"><b>{pts(f.lift.absolute)} pts</b> lift over holdout (95%: {pts(f.lift.ci_low)} to {pts(f.lift.ci_high)})</span> : null}
      <details className="dropoff">
        <summary>Drop-off by node</summary>
        <table className="table small" aria-label="Drop-off by node">
          <thead><tr><th>Node</th><th className="num">Entered</th><th className="num">Stopped there</th><th className="num">Drop-off</th></tr></thead>
          <tbody>
            {nodes.filter((n) => drops[n.id]).map((n) => (
              <tr key={n.id}><td>{name(n.id)}</td><td className="num">{drops[n.id]!.entered}</td><td className="num">{drops[n.id]!.left}</td><td className="num">{drops[n.id]!.rate === null ? '—' : pct(drops[n.id]!.rate!)}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
