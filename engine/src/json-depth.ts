/**
 * How deep JSON from outside the engine (webhook answers, plugin outputs) may nest. A step's output becomes part of
 * the run's `vars`, which the engine serialises recursively (`JSON.stringify` overflows the stack at a few
 * thousand levels), so depth is bounded where such JSON comes in. Flow documents and contact properties have
 * their own, smaller bounds.
 */
export const MAX_OUTPUT_DEPTH = 64;

/**
 * The nesting depth of JSON text, read without parsing it (strings are skipped, escapes honoured); a scalar is 0.
 * Stops as soon as the depth passes `limit`, so a hostile answer costs one pass over its first bytes at most.
 */
export function jsonTextDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** The nesting depth of a value (a scalar is 0), walked without recursion; stops once it passes `limit`. */
export function jsonDepth(value: unknown, limit = Infinity): number {
  let max = 0;
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const inner = depth + 1;
    if (inner > max && (max = inner) > limit) return max;
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (x !== null && typeof x === 'object') stack.push({ v: x, depth: inner });
  }
  return max;
}
