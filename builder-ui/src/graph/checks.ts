import type { CatalogNode, FlowDocument, ValidationError } from '../api/types.ts';
import { handlesFor } from './handles.ts';

/**
 * Client-side structural checks run while editing, before the engine's own validation: handles that exist,
 * one edge per out handle, no edges into triggers, every named out of a branching node connected. The engine
 * remains the authority (`POST /v1/flows/{id}/validate`); these give instant feedback on the canvas.
 */
export function checkGraph(doc: FlowDocument, catalog: Map<string, CatalogNode>): ValidationError[] {
  const errors: ValidationError[] = [];
  const byId = new Map(doc.nodes.map((n, i) => [n.id, { node: n, index: i }]));
  const used = new Set<string>();
  doc.edges.forEach((edge, i) => {
    const src = byId.get(edge.source);
    const dst = byId.get(edge.target);
    if (!src || !dst) {
      errors.push({ path: `/edges/${i}`, message: `edge ${edge.id} connects a node that does not exist` });
      return;
    }
    const srcSpec = handlesFor(catalog.get(src.node.type), src.node.type, src.node.config ?? {});
    const handle = edge.sourceHandle ?? null;
    if (!srcSpec.outputs.some((o) => o.id === handle)) {
      errors.push({
        path: `/edges/${i}/sourceHandle`,
        message: `${src.node.id} has no "${handle ?? 'default'}" output`,
        node_id: src.node.id,
      });
    }
    const key = `${edge.source}\u0000${handle ?? ''}`;
    if (used.has(key)) {
      errors.push({ path: `/edges/${i}`, message: `${src.node.id} already has an edge from "${handle ?? 'out'}"`, node_id: src.node.id });
    }
    used.add(key);
    const dstSpec = handlesFor(catalog.get(dst.node.type), dst.node.type, dst.node.config ?? {});
    if (!dstSpec.input) errors.push({ path: `/edges/${i}/target`, message: `${dst.node.id} cannot have incoming edges`, node_id: dst.node.id });
  });
  for (const { node, index } of byId.values()) {
    if (!catalog.has(node.type) && catalog.size > 0) {
      errors.push({ path: `/nodes/${index}/type`, message: `unknown node type "${node.type}"`, node_id: node.id });
      continue;
    }
    const spec = handlesFor(catalog.get(node.type), node.type, node.config ?? {});
    for (const out of spec.outputs) {
      // Named branches (true/false, split keys, event/timeout) must all lead somewhere; `error` is optional.
      if (out.id === null || out.id === 'error') continue;
      if (!used.has(`${node.id}\u0000${out.id}`)) {
        errors.push({ path: `/nodes/${index}`, message: `the "${out.id}" branch of ${node.id} is not connected`, node_id: node.id });
      }
    }
  }
  return errors;
}

/** Node id an error belongs to: its `node_id`, else the index in a `/nodes/<i>/…` pointer. */
export function errorNodeId(error: ValidationError, doc: FlowDocument): string | undefined {
  if (error.node_id) return error.node_id;
  const m = /^\/(?:draft\/)?nodes\/(\d+)/.exec(error.path ?? '');
  if (m) return doc.nodes[Number(m[1])]?.id;
  const e = /^\/(?:draft\/)?edges\/(\d+)/.exec(error.path ?? '');
  if (e) return doc.edges[Number(e[1])]?.source;
  return undefined;
}

/** The part of an error's pointer below the node's `config`, e.g. `/rule/all/0/value`, or null. */
export function errorConfigPath(error: ValidationError): string | null {
  const m = /^\/(?:draft\/)?nodes\/\d+\/config(\/.*)?$/.exec(error.path ?? '');
  return m ? (m[1] ?? '') : null;
}
