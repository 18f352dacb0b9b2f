import type { FlowValidationError, NodeTypeSpec } from './flow.ts';
import { DEFAULT_HANDLE, ERROR_HANDLE } from './flow.ts';
import { Problems, show } from './problems.ts';

/*
 * The graph rules of a flow document, pure TypeScript: the engine's validator runs them after the envelope and
 * config checks, and the builder runs the same code on every edit for instant feedback, so both say the same
 * thing in the same words (the engine's answer, which adds config checks, replaces the local one once it comes).
 */

/** A node as far as the graph rules need it: its index in `nodes`, id, and spec when its type is known. */
export interface GraphNode {
  index: number;
  id: string;
  type: string;
  spec?: NodeTypeSpec;
  config: Record<string, unknown>;
}

export interface GraphEdge {
  index: number;
  id: string;
  source: string;
  sourceHandle: string | null;
  target: string;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Resolves a node type to its spec (core catalog, or the workspace's plugin actions); undefined when unknown. */
export type ResolveNodeType = (type: string) => NodeTypeSpec | undefined;

/**
 * The document's nodes and edges as the graph rules see them, reporting duplicate ids and unknown types;
 * `onNode` is called for each known node with a config object (the engine checks the config there).
 */
export function collectGraph(problems: Problems, doc: Obj, resolve: ResolveNodeType, onNode?: (node: GraphNode & { spec: NodeTypeSpec }) => void): { nodes: GraphNode[]; edges: GraphEdge[] } {
  return { nodes: collectNodes(problems, doc.nodes, resolve, onNode), edges: collectEdges(problems, doc.edges) };
}

function collectNodes(problems: Problems, raw: unknown, resolve: ResolveNodeType, onNode?: (node: GraphNode & { spec: NodeTypeSpec }) => void): GraphNode[] {
  if (!Array.isArray(raw)) return [];
  const nodes: GraphNode[] = [];
  const firstIndex = new Map<string, number>();
  raw.forEach((n, index) => {
    if (!isObject(n) || typeof n.id !== 'string' || typeof n.type !== 'string') return;
    const id = n.id;
    const before = firstIndex.get(id);
    if (before !== undefined) {
      problems.add(`/nodes/${index}/id`, `${show(id)} is already the id of nodes[${before}]; node ids must be unique`, id);
      return;
    }
    firstIndex.set(id, index);
    const spec = resolve(n.type);
    const config = isObject(n.config) ? n.config : {};
    if (!spec) {
      problems.add(`/nodes/${index}/type`, `${show(n.type)} is not a known node type; use a type from GET /v1/catalog (e.g. "action.tag") or install the plugin`, id);
    } else if (isObject(n.config)) {
      onNode?.({ index, id, type: n.type, spec, config });
    }
    nodes.push({ index, id, type: n.type, spec, config });
  });
  return nodes;
}

function collectEdges(problems: Problems, raw: unknown): GraphEdge[] {
  if (!Array.isArray(raw)) return [];
  const edges: GraphEdge[] = [];
  const firstIndex = new Map<string, number>();
  raw.forEach((e, index) => {
    if (!isObject(e) || typeof e.id !== 'string' || typeof e.source !== 'string' || typeof e.target !== 'string') return;
    const before = firstIndex.get(e.id);
    if (before !== undefined) {
      problems.add(`/edges/${index}/id`, `${show(e.id)} is already the id of edges[${before}]; edge ids must be unique`);
      return;
    }
    firstIndex.set(e.id, index);
    const sourceHandle = typeof e.sourceHandle === 'string' ? e.sourceHandle : null;
    edges.push({ index, id: e.id, source: e.source, sourceHandle, target: e.target });
  });
  return edges;
}

/**
 * The graph problems of a document alone (ids, types, handles, required branches, reachability, loops), each
 * exactly as `POST /v1/flows/{id}/validate` words it: what the builder shows while the engine's answer is on its way.
 */
export function checkFlowGraph(doc: unknown, resolve: ResolveNodeType): FlowValidationError[] {
  if (!isObject(doc)) return [];
  const problems = new Problems();
  const { nodes, edges } = collectGraph(problems, doc, resolve);
  checkGraph(problems, nodes, edges);
  return problems.list;
}

/** Nodes a loop may pass through: they wait, so a loop through them cannot spin within one instant. */
const WAITING_TYPES = new Set(['delay', 'wait_for_event']);

/** The out-handles of a node (for `split`, its branch keys). Actions also have `error`. */
export function outHandles(node: GraphNode): string[] {
  const spec = node.spec;
  if (!spec) return [];
  if (spec.handles.out === 'branches') {
    const branches = Array.isArray(node.config.branches) ? node.config.branches : [];
    return branches.map((b) => (b && typeof b === 'object' ? (b as { key?: unknown }).key : undefined)).filter((k): k is string => typeof k === 'string');
  }
  const outs = [...spec.handles.out];
  if (spec.category === 'action' && !outs.includes(ERROR_HANDLE)) outs.push(ERROR_HANDLE);
  return outs;
}

/** Handles that must be connected: `condition` true/false, `wait_for_event` event/timeout, every split branch. */
function requiredHandles(node: GraphNode): string[] {
  if (!node.spec) return [];
  if (node.spec.handles.out === 'branches') return outHandles(node);
  if (node.type === 'condition' || node.type === 'wait_for_event') return [...node.spec.handles.out];
  return [];
}

/**
 * The graph rules: exactly one trigger; edges between existing nodes from valid handles, one edge per handle,
 * none into a trigger; required handles connected; every node reachable from the trigger; no loop that does
 * not pass through a `delay` or `wait_for_event`.
 */
export function checkGraph(problems: Problems, nodes: GraphNode[], edges: GraphEdge[]): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const triggers = nodes.filter((n) => n.spec?.category === 'trigger');
  if (triggers.length === 0) {
    problems.add('/nodes', 'has no trigger; add exactly one trigger node (e.g. "trigger.event")');
  }
  for (const extra of triggers.slice(1)) {
    problems.add(`/nodes/${extra.index}/type`, `is a second trigger (the first is "${triggers[0].id}"); a flow has exactly one trigger — use another flow`, extra.id);
  }

  const valid: GraphEdge[] = [];
  const used = new Map<string, GraphEdge>();
  for (const e of edges) {
    const source = byId.get(e.source);
    const target = byId.get(e.target);
    let ok = true;
    if (!source) {
      problems.add(`/edges/${e.index}/source`, `points to node ${show(e.source)}, which does not exist; connect an existing node or delete the edge`);
      ok = false;
    }
    if (!target) {
      problems.add(`/edges/${e.index}/target`, `points to node ${show(e.target)}, which does not exist; connect an existing node or delete the edge`, source?.id);
      ok = false;
    } else if (target.spec && !target.spec.handles.in) {
      problems.add(`/edges/${e.index}/target`, `points into "${target.id}", a ${target.type} node, which has no input; triggers only start flows`, target.id);
      ok = false;
    }
    if (source?.spec) ok = checkHandle(problems, source, e) && ok;
    if (!ok) continue;
    // An unknown type is reported on its node; its edges still count, so nothing after it is called unreachable.
    if (!source?.spec) {
      valid.push(e);
      continue;
    }
    const handle = e.sourceHandle ?? DEFAULT_HANDLE;
    const key = `${e.source}\u0000${handle}`;
    const first = used.get(key);
    if (first) {
      problems.add(`/edges/${e.index}`, `leaves "${e.source}" by handle "${handle}" like edge "${first.id}"; a handle leads to one next node — delete one of them`, e.source);
      continue;
    }
    used.set(key, e);
    valid.push(e);
  }

  for (const n of nodes) {
    for (const h of requiredHandles(n)) {
      if (!used.has(`${n.id}\u0000${h}`)) problems.add(`/nodes/${n.index}`, `needs an edge from its "${h}" handle (${handleHint(n.type, h)})`, n.id);
    }
  }

  if (triggers.length === 1) checkReachable(problems, nodes, valid, triggers[0]);
  checkLoops(problems, nodes, valid);
}

function handleHint(type: string, handle: string): string {
  if (type === 'condition') return `where contacts go when the rule is ${handle}`;
  if (type === 'wait_for_event') return handle === 'event' ? 'where contacts go when the event arrives' : 'where contacts go when the wait times out';
  return `the split branch "${handle}"; add an edge or remove the branch`;
}

function checkHandle(problems: Problems, source: GraphNode, e: GraphEdge): boolean {
  const outs = outHandles(source);
  const at = `/edges/${e.index}/sourceHandle`;
  if (outs.length === 0) {
    problems.add(`/edges/${e.index}/source`, `is "${source.id}", a ${source.type} node, which has no outgoing edges; delete the edge`, source.id);
    return false;
  }
  const named = outs.filter((h) => h !== DEFAULT_HANDLE && h !== ERROR_HANDLE);
  if (e.sourceHandle === null) {
    if (!outs.includes(DEFAULT_HANDLE)) {
      problems.add(at, `is missing; edges from "${source.id}" (${source.type}) must name a handle: ${named.map((h) => `"${h}"`).join(', ')}`, source.id);
      return false;
    }
    return true;
  }
  if (e.sourceHandle === DEFAULT_HANDLE || !outs.includes(e.sourceHandle)) {
    const choices = outs.map((h) => (h === DEFAULT_HANDLE ? 'none (omit sourceHandle)' : `"${h}"`)).join(', ');
    problems.add(at, `${show(e.sourceHandle)} is not a handle of "${source.id}" (${source.type}); use ${choices}`, source.id);
    return false;
  }
  return true;
}

function adjacency(nodes: GraphNode[], edges: GraphEdge[]): Map<string, string[]> {
  const adj = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) adj.get(e.source)?.push(e.target);
  return adj;
}

function checkReachable(problems: Problems, nodes: GraphNode[], edges: GraphEdge[], trigger: GraphNode): void {
  const adj = adjacency(nodes, edges);
  const seen = new Set([trigger.id]);
  const stack = [trigger.id];
  while (stack.length > 0) {
    for (const next of adj.get(stack.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  for (const n of nodes) {
    if (!seen.has(n.id) && n.spec?.category !== 'trigger') {
      problems.add(`/nodes/${n.index}`, `("${n.id}") cannot be reached from the trigger "${trigger.id}"; connect it or delete it`, n.id);
    }
  }
}

/**
 * Loops are allowed only through a waiting node. Dropping the waiting nodes, any strongly connected
 * component left with more than one node (or a self-edge) is a loop a contact would spin in forever.
 */
function checkLoops(problems: Problems, nodes: GraphNode[], edges: GraphEdge[]): void {
  const keep = nodes.filter((n) => !WAITING_TYPES.has(n.type));
  const kept = new Set(keep.map((n) => n.id));
  const inner = edges.filter((e) => kept.has(e.source) && kept.has(e.target));
  const adj = adjacency(keep, inner);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const scc of stronglyConnected(keep.map((n) => n.id), adj)) {
    const selfLoop = scc.length === 1 && (adj.get(scc[0]) ?? []).includes(scc[0]);
    if (scc.length < 2 && !selfLoop) continue;
    const first = byId.get(scc[0])!;
    const path = [...scc, scc[0]].map((id) => `"${id}"`).join(' → ');
    problems.add(`/nodes/${first.index}`, `is in a loop with no delay or wait_for_event (${path}); a contact would go round it forever — add a delay inside the loop`, first.id);
  }
}

/** Tarjan's algorithm, iterative (documents may hold 2,000 nodes; recursion depth must not depend on them). */
function stronglyConnected(ids: string[], adj: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of ids) {
    if (index.has(root)) continue;
    const work: { id: string; next: number }[] = [{ id: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const succ = adj.get(frame.id) ?? [];
      if (frame.next < succ.length) {
        const w = succ[frame.next++];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ id: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].id;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.id)!));
      }
      if (low.get(frame.id) === index.get(frame.id)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== frame.id);
        out.push(scc.reverse());
      }
    }
  }
  return out;
}
