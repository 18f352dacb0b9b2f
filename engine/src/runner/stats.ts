/** Per-node and per-flow counter deltas gathered during a batch and written with one upsert each. */
export interface NodeCounts { entered: number; completed: number; failed: number; waiting: number }
export interface FlowCounts { started: number; completed: number; converted: number; exited: number; failed: number; cancelled: number }

export class StatsDelta {
  readonly nodes = new Map<string, { workspaceId: string; flowId: string; version: number; nodeId: string; c: NodeCounts }>();
  readonly flows = new Map<string, { workspaceId: string; flowId: string; version: number; c: FlowCounts }>();

  node(workspaceId: string, flowId: string, version: number, nodeId: string, field: keyof NodeCounts, by = 1): void {
    const key = `${flowId}:${version}:${nodeId}`;
    let e = this.nodes.get(key);
    if (!e) this.nodes.set(key, (e = { workspaceId, flowId, version, nodeId, c: { entered: 0, completed: 0, failed: 0, waiting: 0 } }));
    e.c[field] += by;
  }

  flow(workspaceId: string, flowId: string, version: number, field: keyof FlowCounts, by = 1): void {
    const key = `${flowId}:${version}`;
    let e = this.flows.get(key);
    if (!e) this.flows.set(key, (e = { workspaceId, flowId, version, c: { started: 0, completed: 0, converted: 0, exited: 0, failed: 0, cancelled: 0 } }));
    e.c[field] += by;
  }

  get empty(): boolean {
    return this.nodes.size === 0 && this.flows.size === 0;
  }
}
