import { JSONPath } from 'jsonpath-plus';

export type PathReader = (value: object) => unknown;

/*
 * jsonpath-plus is pinned to json-rules-engine's own major (10.x, deduplicated to the very same package; a test
 * checks it), because 11 reads unions, negative slices and filters differently.
 *
 * `$`, then `.name`, `[0]` or `['key']` steps: what almost every condition uses. A quoted key takes this fast path
 * only when it is plain (letters, digits, `_`, `-`, space): jsonpath-plus gives meaning to `;`, `*`, `@`, `,`,
 * `:`, `$`, `^`, `~`, `.`, `(`, backticks and quotes even inside quotes, so such keys go through jsonpath-plus.
 */
const SIMPLE = /^\$((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d{1,9}\]|\['[A-Za-z0-9_ -]+'\])*)$/;
const STEP = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d{1,9})\]|\['([A-Za-z0-9_ -]+)'\]/g;

/**
 * Compiles a JSONPath the way json-rules-engine resolves it (`JSONPath({ path, json, wrap: false })`).
 * Simple paths become direct property reads with jsonpath-plus's exact rule for each step — the holder must
 * be truthy and own the key (so `$.name.length` reads a string's length but `''.length` is undefined);
 * anything else (wildcards, unions, slices, recursive descent, special keys) goes to jsonpath-plus itself.
 */
export function compilePath(path: string): PathReader {
  const m = SIMPLE.exec(path);
  if (!m) return (value) => JSONPath({ path, json: value, wrap: false }) as unknown;
  const keys: string[] = [];
  for (const step of m[1].matchAll(STEP)) keys.push(step[1] ?? step[2] ?? step[3]);
  if (keys.length === 0) return (value) => value;
  if (keys.length === 1) {
    const [k] = keys;
    return (value) => (Object.hasOwn(value, k) ? (value as Record<string, unknown>)[k] : undefined);
  }
  return (value) => {
    let cur: unknown = value;
    for (const k of keys) {
      if (!cur || !Object.hasOwn(cur as object, k)) return undefined;
      cur = (cur as Record<string, unknown>)[k];
    }
    return cur;
  };
}

/** Whether `path` compiles to direct property reads (no jsonpath-plus at evaluation). */
export const isSimplePath = (path: string): boolean => SIMPLE.test(path);

/**
 * jsonpath-plus keeps every path (and filter script) it has parsed in `JSONPath.cache`, forever. Evaluation only
 * meets the paths of stored conditions, but validation meets anything a caller sends: start the cache afresh
 * once it holds many paths, so validating distinct paths cannot grow memory without bound.
 */
let parsed = 0;
function boundCache(): void {
  if (++parsed < 5_000) return;
  parsed = 0;
  JSONPath.cache = {};
}

/**
 * Whether Cairn accepts `path`: jsonpath-plus must parse it (it must start with `$`), and it must not run script:
 * filters `[?(…)]` and script expressions `[(…)]` are refused, because jsonpath-plus evaluates them per node and
 * they throw on ordinary data (`@.x` over a `null` property), failing every event they meet. Returns the problem,
 * or undefined.
 */
export function checkPath(path: unknown): string | undefined {
  if (typeof path !== 'string' || !path.startsWith('$')) return 'must be a JSONPath starting with "$", such as "$.properties.country"';
  if (path.length > 500) return 'must be at most 500 characters';
  if (SIMPLE.test(path)) return undefined;
  boundCache();
  try {
    if (JSONPath.toPathArray(path).some((step) => step.startsWith('?(') || step.startsWith('('))) {
      return 'uses a filter or script expression ("[?(…)]", "[(…)]"), which conditions do not accept; select by path (e.g. "$.items[*].sku") and compare with the operator';
    }
    JSONPath({ path, json: {}, wrap: false });
    return undefined;
  } catch (err) {
    return `is not a JSONPath jsonpath-plus can read (${(err as Error).message}); write it like "$.properties.country"`;
  }
}
