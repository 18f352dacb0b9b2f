/** Builders of cairn.flow/v1 documents for tests and bench: a node at (0, y), an edge named by its ends, a flow. */
export interface DocNode {
  id: string;
  type: string;
  position: { x: number; y: number };
  config: Record<string, unknown>;
}

export const node = (id: string, type: string, config: Record<string, unknown>, y = 0): DocNode => ({ id, type, position: { x: 0, y }, config });

export const edge = (source: string, target: string, sourceHandle?: string) => ({ id: `${source}-${sourceHandle ?? 'out'}-${target}`, source, target, ...(sourceHandle ? { sourceHandle } : {}) });

/** A flow document; settings default to re-entry always, no goal, no exit events. */
export const flow = <N>(name: string, nodes: N[], edges: unknown[], settings: Record<string, unknown> = {}) => ({
  schema: 'cairn.flow/v1', name, settings: { reentry: 'always', goal: null, exit_on: [], ...settings }, nodes, edges,
});
