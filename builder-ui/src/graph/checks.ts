import { checkFlowGraph, type NodeTypeSpec } from '@cairn/engine/contracts';
import type { CatalogNode, FlowDocument, ValidationError } from '../api/types.ts';

/**
 * The instant checks run on every edit: the engine's own graph rules (ids, types, handles, required branches,
 * reachability, loops), the very code `POST /v1/flows/{id}/validate` runs, so each problem reads the same here
 * and there. The engine's answer (which adds each node's config checks) replaces these once the draft is saved.
 */
export function checkGraph(doc: FlowDocument, catalog: Map<string, CatalogNode>): ValidationError[] {
  // The catalog is `GET /v1/catalog`, i.e. the engine's NodeTypeSpec list (core types and enabled plugin actions).
  return checkFlowGraph(doc, (type) => catalog.get(type) as NodeTypeSpec | undefined);
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
