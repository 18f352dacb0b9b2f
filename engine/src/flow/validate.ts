import type { FlowValidationResult, NodeTypeSpec } from '../contracts/flow.ts';

export type { FlowValidationError, FlowValidationResult } from '../contracts/flow.ts';

export interface ValidateOptions {
  /** Resolves types the core catalog does not know (plugin actions). Core types are always known. */
  resolveNodeType?: (type: string) => NodeTypeSpec | undefined;
}

/**
 * Checks a `cairn.flow/v1` document and reports every problem at once, each with a JSON Pointer and the
 * node id when it concerns a node. (First version: signature only; the checks land next.)
 */
export function validateFlowDocument(_doc: unknown, _opts: ValidateOptions = {}): FlowValidationResult {
  return { valid: true, errors: [] };
}
