import type { ProblemItem } from '../errors.ts';

/**
 * Limits on contact and event `properties` (documented in docs/api.md). Checked before anything is written so a
 * too-large value gets a 400 naming its path instead of bloating rows.
 */
export const PROPERTY_LIMITS = {
  keyLength: 200,
  stringLength: 65_536,
  /** Serialized size of one properties object, in bytes (UTF-8). */
  totalBytes: 262_144,
  /** Objects/arrays nested inside properties (properties itself is depth 1). */
  depth: 10,
  arrayItems: 1_000,
} as const;

export type JsonObject = Record<string, unknown>;

export const isPlainObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** Problems with a properties object, each with a JSON Pointer under `base` (e.g. `/events/3/properties`). */
export function checkProperties(value: unknown, base: string): ProblemItem[] {
  const problems: ProblemItem[] = [];
  if (!isPlainObject(value)) return [{ path: base, message: 'must be an object' }];
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > PROPERTY_LIMITS.totalBytes) {
    problems.push({ path: base, message: `is ${bytes} bytes as JSON; the limit is ${PROPERTY_LIMITS.totalBytes}` });
  }
  walk(value, base, 1, problems);
  return problems.slice(0, 100);
}

function walk(value: unknown, path: string, depth: number, problems: ProblemItem[]): void {
  if (problems.length >= 100) return;
  if (typeof value === 'string') {
    if (value.length > PROPERTY_LIMITS.stringLength) {
      problems.push({ path, message: `is a string of ${value.length} characters; the limit is ${PROPERTY_LIMITS.stringLength}` });
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth > PROPERTY_LIMITS.depth) {
    problems.push({ path, message: `is nested ${depth} levels deep; the limit is ${PROPERTY_LIMITS.depth}` });
    return;
  }
  if (Array.isArray(value)) {
    if (value.length > PROPERTY_LIMITS.arrayItems) {
      problems.push({ path, message: `has ${value.length} items; the limit is ${PROPERTY_LIMITS.arrayItems}` });
    }
    value.forEach((v, i) => walk(v, `${path}/${i}`, depth + 1, problems));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = `${path}/${escapePointer(k)}`;
    if (k.length === 0 || k.length > PROPERTY_LIMITS.keyLength) {
      problems.push({ path: p, message: `property names must have 1 to ${PROPERTY_LIMITS.keyLength} characters (this one has ${k.length})` });
    }
    walk(v, p, depth + 1, problems);
  }
}

/** RFC 7396 JSON merge patch: objects merge recursively, `null` deletes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    // defineProperty, not assignment: a key named "__proto__" must stay data, never change the prototype.
    else Object.defineProperty(result, k, { value: mergePatch(result[k], v), enumerable: true, writable: true, configurable: true });
  }
  return result;
}
