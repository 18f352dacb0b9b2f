import { CAIRN_WIDGET } from '@cairn/engine/contracts';
import type { CatalogNode } from '../api/types.ts';

/**
 * The config a node starts with when dropped: the schema's own defaults (top level, then per property),
 * and an empty `all` group for required conditions so the rule builder has somewhere to start.
 */
export function defaultConfig(entry: CatalogNode | undefined): Record<string, unknown> {
  const schema = entry?.config_schema as Record<string, unknown> | undefined;
  if (!schema) return {};
  if (schema.default && typeof schema.default === 'object' && !Array.isArray(schema.default)) return structuredClone(schema.default as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [key, prop] of Object.entries(props)) {
    if (prop.default !== undefined) out[key] = structuredClone(prop.default);
    else if (required.has(key) && prop[CAIRN_WIDGET] === 'condition') out[key] = { all: [] };
  }
  return out;
}
