import { DEFAULT_HANDLE, ERROR_HANDLE } from '@cairn/engine/contracts';
import type { CatalogNode } from '../api/types.ts';

/**
 * The catalog's `handles` field, normalised. The engine serves `{ in: boolean, out: string[] | "<config key>" }`
 * (`default` = the unnamed out, a bare string = the keys of that config array, e.g. a split's `branches`);
 * plugins' catalogs may be looser, so `{ inputs, outputs }`, a bare list, `{ from_config }` and JSON pointers
 * are read too.
 */
export interface OutputHandle {
  /** `null` for the single unnamed out. */
  id: string | null;
  label: string;
}
export interface HandleSpec {
  input: boolean;
  outputs: OutputHandle[];
}

/** How the optional `error` outlet is labelled on the canvas. */
export const ERROR_LABEL = 'on error';

const UNNAMED = new Set(['', DEFAULT_HANDLE, 'out', 'next', 'output']);

function configPointerValue(config: Record<string, unknown>, ref: string): unknown {
  const parts = ref.replace(/^config\./, '').replace(/^\//, '').split(/[./]/).filter(Boolean);
  let cur: unknown = config;
  for (const p of parts) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

/** Branch keys held in config: an array of strings, of `{ key | id | name }` objects, or an object's keys. */
function keysFrom(value: unknown, keyField?: string): string[] {
  if (Array.isArray(value)) {
    return value
      .map((v) => {
        if (typeof v === 'string') return v;
        if (v && typeof v === 'object') {
          const o = v as Record<string, unknown>;
          const k = (keyField && o[keyField]) ?? o.key ?? o.id ?? o.name;
          return typeof k === 'string' ? k : undefined;
        }
        return undefined;
      })
      .filter((k): k is string => typeof k === 'string');
  }
  if (value && typeof value === 'object') return Object.keys(value);
  return [];
}

function outputsFrom(spec: unknown, config: Record<string, unknown>): OutputHandle[] | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (typeof spec === 'number') return spec > 0 ? [{ id: null, label: '' }] : [];
  if (typeof spec === 'boolean') return spec ? [{ id: null, label: '' }] : [];
  if (typeof spec === 'string') {
    if (spec.startsWith('config.') || spec.startsWith('/')) return keysFrom(configPointerValue(config, spec)).map((k) => ({ id: k, label: k }));
    return [UNNAMED.has(spec) ? { id: null, label: '' } : { id: spec, label: spec }];
  }
  if (Array.isArray(spec)) return spec.flatMap((s) => (s === null ? [{ id: null, label: '' }] : (outputsFrom(s, config) ?? [])));
  if (typeof spec === 'object') {
    const o = spec as Record<string, unknown>;
    const ref = o.from_config ?? o.fromConfig ?? o.config;
    if (typeof ref === 'string') {
      const keyField = typeof o.key === 'string' ? o.key : undefined;
      const dynamic = keysFrom(configPointerValue(config, ref), keyField).map((k) => ({ id: k, label: k }));
      const fixed = outputsFrom(o.fixed ?? o.extra, config) ?? [];
      return [...dynamic, ...fixed];
    }
    const id = o.id ?? o.key ?? o.name;
    if (typeof id === 'string' || id === null) {
      const label = typeof o.label === 'string' ? o.label : (id ?? '');
      return [id === null || UNNAMED.has(id) ? { id: null, label: '' } : { id, label }];
    }
  }
  return undefined;
}

export function isTriggerType(entry: Pick<CatalogNode, 'type' | 'category'> | undefined, type: string): boolean {
  return entry?.category === 'trigger' || type.startsWith('trigger.');
}

export function isActionType(entry: Pick<CatalogNode, 'type' | 'category'> | undefined, type: string): boolean {
  return type.startsWith('action.') || type.startsWith('plugin:') || entry?.category === 'action' || entry?.category === 'plugin';
}

export function handlesFor(entry: CatalogNode | undefined, type: string, config: Record<string, unknown>): HandleSpec {
  const h = entry?.handles;
  let input = !isTriggerType(entry, type);
  let outputs: OutputHandle[] | undefined;
  if (Array.isArray(h) || typeof h === 'string') {
    outputs = outputsFrom(h, config);
  } else if (h && typeof h === 'object') {
    const o = h as Record<string, unknown>;
    const inSpec = o.inputs ?? o.input ?? o.in ?? o.target ?? o.targets;
    if (inSpec !== undefined) input = Array.isArray(inSpec) ? inSpec.length > 0 : Boolean(inSpec);
    const outSpec = o.out ?? o.outputs ?? o.output ?? o.source ?? o.sources;
    // A bare string names the config array whose keys are the outs (split → `branches`).
    outputs = typeof outSpec === 'string' && !UNNAMED.has(outSpec) ? outputsFrom({ from_config: outSpec }, config) : outputsFrom(outSpec, config);
  }
  if (outputs === undefined) outputs = type === 'end' ? [] : [{ id: null, label: '' }];
  // Every action may have an `error` out (taken after retries are spent), whether or not the catalog lists it.
  if (isActionType(entry, type) && !outputs.some((o) => o.id === ERROR_HANDLE)) outputs = [...outputs, { id: ERROR_HANDLE, label: ERROR_LABEL }];
  // The error outlet is optional (unconnected, a failed step just fails the run): it reads as a choice, not an alarm.
  outputs = outputs.map((o) => (o.id === ERROR_HANDLE ? { ...o, label: ERROR_LABEL } : o));
  // De-duplicate while keeping the catalog's order.
  const seen = new Set<string>();
  outputs = outputs.filter((o) => {
    const k = o.id ?? '\u0000';
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { input, outputs };
}
