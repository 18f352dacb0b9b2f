import type { Edge, Node } from '@xyflow/react';
import type { FlowDocument, FlowEdgeDoc, FlowNodeDoc } from '../api/types.ts';

/**
 * cairn.flow/v1 document ⇄ React Flow nodes/edges. Each canvas element carries the document object it came
 * from, so anything the canvas does not edit (unknown keys, key order, labels) is written back untouched and
 * an unedited document serialises to the same JSON it was loaded from.
 */

export interface CanvasNodeData extends Record<string, unknown> {
  doc: FlowNodeDoc;
}
export interface CanvasEdgeData extends Record<string, unknown> {
  doc: FlowEdgeDoc;
}
export type CanvasNode = Node<CanvasNodeData, 'cairn'>;
export type CanvasEdge = Edge<CanvasEdgeData>;

/** The document minus its nodes and edges (schema, name, settings and any other top-level keys). */
export interface DocumentMeta {
  schema: FlowDocument['schema'];
  name: string;
  settings?: FlowDocument['settings'];
  [extra: string]: unknown;
}

export interface CanvasGraph {
  meta: DocumentMeta;
  /** Top-level key order of the source document, so `toDocument` rebuilds it in the same order. */
  keyOrder: string[];
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

export function nodeFromDoc(doc: FlowNodeDoc): CanvasNode {
  return {
    id: doc.id,
    type: 'cairn',
    position: { x: doc.position?.x ?? 0, y: doc.position?.y ?? 0 },
    // The card's usual size, so the view can be fitted before the nodes are measured.
    initialWidth: 220,
    initialHeight: 80,
    // Nodes are focusable; this is what a screen reader announces for them.
    ariaLabel: `${doc.label ?? doc.type} (${doc.id})`,
    data: { doc },
  };
}

export function edgeFromDoc(doc: FlowEdgeDoc): CanvasEdge {
  return {
    id: doc.id,
    source: doc.source,
    target: doc.target,
    sourceHandle: doc.sourceHandle ?? null,
    label: typeof doc.label === 'string' ? doc.label : undefined,
    data: { doc },
  };
}

export function fromDocument(document: FlowDocument): CanvasGraph {
  const { nodes, edges, ...meta } = document;
  return {
    meta,
    keyOrder: Object.keys(document),
    nodes: (nodes ?? []).map(nodeFromDoc),
    edges: (edges ?? []).map(edgeFromDoc),
  };
}

export function nodeToDoc(node: CanvasNode): FlowNodeDoc {
  const out: FlowNodeDoc = { ...node.data.doc };
  out.id = node.id;
  // Assigning an existing key keeps its place in the object, so key order survives the round trip.
  out.position = { ...node.data.doc.position, x: node.position.x, y: node.position.y };
  return out;
}

export function edgeToDoc(edge: CanvasEdge): FlowEdgeDoc {
  const out: FlowEdgeDoc = { ...(edge.data?.doc ?? { id: edge.id, source: edge.source, target: edge.target }) };
  out.id = edge.id;
  out.source = edge.source;
  out.target = edge.target;
  if (edge.sourceHandle) out.sourceHandle = edge.sourceHandle;
  else delete out.sourceHandle;
  return out;
}

export function toDocument(graph: CanvasGraph): FlowDocument {
  const body: Record<string, unknown> = {};
  const order = graph.keyOrder.length > 0 ? graph.keyOrder : ['schema', 'name', 'settings', 'nodes', 'edges'];
  const meta = graph.meta as Record<string, unknown>;
  for (const key of order) {
    if (key === 'nodes') body.nodes = graph.nodes.map(nodeToDoc);
    else if (key === 'edges') body.edges = graph.edges.map(edgeToDoc);
    else if (key in meta) body[key] = meta[key];
  }
  for (const key of Object.keys(meta)) if (!(key in body)) body[key] = meta[key];
  if (!('nodes' in body)) body.nodes = graph.nodes.map(nodeToDoc);
  if (!('edges' in body)) body.edges = graph.edges.map(edgeToDoc);
  return body as FlowDocument;
}

/** A fresh document for "New flow". */
export function emptyDocument(name: string): FlowDocument {
  return { schema: 'cairn.flow/v1', name, settings: { reentry: 'after_exit', goal: null, exit_on: [] }, nodes: [], edges: [] };
}

/** Short unique ids in the style of the examples (`condition_2`), unique within `taken`. */
export function nextId(prefix: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = prefix.replace(/^plugin:/, '').replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'node';
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
}
