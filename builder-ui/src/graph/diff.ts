import type { FlowDocument, FlowEdgeDoc, FlowNodeDoc } from '../api/types.ts';

/** What changed between two flow documents, for the publish dialog. Moving a node alone is not a change. */
export interface NodeChange {
  id: string;
  type: string;
  /** Which parts changed: `type`, `config`, `label` or other keys. */
  fields: string[];
}
export interface FlowDiff {
  nodesAdded: FlowNodeDoc[];
  nodesRemoved: FlowNodeDoc[];
  nodesChanged: NodeChange[];
  edgesAdded: FlowEdgeDoc[];
  edgesRemoved: FlowEdgeDoc[];
  settingsChanged: boolean;
  nameChanged: boolean;
  /** Only positions moved. */
  moved: string[];
}

/** Key-order-insensitive deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

const edgeKey = (e: FlowEdgeDoc) => `${e.source}\u0000${e.sourceHandle ?? ''}\u0000${e.target}`;

export function diffDocuments(before: FlowDocument | null | undefined, after: FlowDocument): FlowDiff {
  const prevNodes = new Map((before?.nodes ?? []).map((n) => [n.id, n]));
  const nextNodes = new Map(after.nodes.map((n) => [n.id, n]));
  const diff: FlowDiff = {
    nodesAdded: [],
    nodesRemoved: [],
    nodesChanged: [],
    edgesAdded: [],
    edgesRemoved: [],
    settingsChanged: !jsonEqual(before?.settings ?? null, after.settings ?? null),
    nameChanged: (before?.name ?? '') !== after.name,
    moved: [],
  };
  for (const [id, node] of nextNodes) {
    const prev = prevNodes.get(id);
    if (!prev) {
      diff.nodesAdded.push(node);
      continue;
    }
    const keys = new Set([...Object.keys(prev), ...Object.keys(node)]);
    const fields = [...keys].filter((k) => k !== 'id' && k !== 'position' && !jsonEqual(prev[k], node[k]));
    if (fields.length > 0) diff.nodesChanged.push({ id, type: node.type, fields });
    else if (!jsonEqual(prev.position, node.position)) diff.moved.push(id);
  }
  for (const [id, node] of prevNodes) if (!nextNodes.has(id)) diff.nodesRemoved.push(node);
  const prevEdges = new Set((before?.edges ?? []).map(edgeKey));
  const nextEdges = new Set(after.edges.map(edgeKey));
  diff.edgesAdded = after.edges.filter((e) => !prevEdges.has(edgeKey(e)));
  diff.edgesRemoved = (before?.edges ?? []).filter((e) => !nextEdges.has(edgeKey(e)));
  return diff;
}

export function isEmptyDiff(d: FlowDiff): boolean {
  return (
    d.nodesAdded.length + d.nodesRemoved.length + d.nodesChanged.length + d.edgesAdded.length + d.edgesRemoved.length === 0 &&
    !d.settingsChanged &&
    !d.nameChanged
  );
}
