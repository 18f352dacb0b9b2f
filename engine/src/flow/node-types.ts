import { coreNodeTypes } from '../contracts/node-catalog.ts';
import type { NodeTypeSpec } from '../contracts/flow.ts';

export type { NodeTypeSpec, NodeCategory, CoreNodeType, CoreNodeConfigs } from '../contracts/flow.ts';
export { coreNodeTypes, CAIRN_WIDGET } from '../contracts/node-catalog.ts';
export { DEFAULT_HANDLE, ERROR_HANDLE } from '../contracts/flow.ts';

const byType = new Map<string, NodeTypeSpec>(coreNodeTypes.map((spec) => [spec.type, spec]));

/** The core spec of `type`, or undefined (plugin actions are resolved by the caller). */
export function coreNodeType(type: string): NodeTypeSpec | undefined {
  return byType.get(type);
}

export const isTriggerType = (spec: NodeTypeSpec): boolean => spec.category === 'trigger';
export const isActionType = (spec: NodeTypeSpec): boolean => spec.category === 'action';
