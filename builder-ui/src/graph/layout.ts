import type { ElkNode } from 'elkjs/lib/elk-api.js';

/**
 * Auto-layout with elkjs' layered algorithm, top to bottom, ports ordered as the node's handles are so that
 * `true` lands left of `false`. elkjs is ~1.4 MB, so it is imported on first use and stays out of the main bundle.
 */
export interface LayoutNode {
  id: string;
  width: number;
  height: number;
  /** Out handles in display order (null = the unnamed out). */
  outputs: Array<string | null>;
}
export interface LayoutEdge {
  id: string;
  source: string;
  sourceHandle?: string | null;
  target: string;
}

const portId = (node: string, handle: string | null) => `${node}::${handle ?? ''}`;

export async function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): Promise<Map<string, { x: number; y: number }>> {
  const { default: ELK } = await import('elkjs/lib/elk.bundled.js');
  const elk = new ELK();
  const ids = new Set(nodes.map((n) => n.id));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.spacing.nodeNode': '50',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    },
    children: nodes.map((n) => ({
      id: n.id,
      width: n.width,
      height: n.height,
      layoutOptions: { 'elk.portConstraints': 'FIXED_ORDER' },
      ports: [
        { id: portId(n.id, '__in'), layoutOptions: { 'elk.port.side': 'NORTH' } },
        ...n.outputs.map((h, i) => ({
          id: portId(n.id, h),
          layoutOptions: { 'elk.port.side': 'SOUTH', 'elk.port.index': String(n.outputs.length - 1 - i) },
        })),
      ],
    })),
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => {
        const src = nodes.find((n) => n.id === e.source);
        const handle = e.sourceHandle ?? null;
        const sourcePort = src && src.outputs.includes(handle) ? portId(e.source, handle) : e.source;
        return { id: e.id, sources: [sourcePort], targets: [portId(e.target, '__in')] };
      }),
  };
  const result = await elk.layout(graph);
  const out = new Map<string, { x: number; y: number }>();
  for (const child of result.children ?? []) out.set(child.id, { x: Math.round(child.x ?? 0), y: Math.round(child.y ?? 0) });
  return out;
}
