/**
 * The segment editor's rule, in the admin's words: one line per condition, all of which must hold. Lines compile
 * to the API's condition format (CONTRACT.md §Behavioural facts, docs/segments.md) and a rule written this way
 * reads back into the same lines; a rule written by hand that does not is edited as JSON instead.
 */

/** A relative time picked as a number and a unit: "30 days", "2 weeks". */
export interface Ago { n: number; unit: 'D' | 'W' }

export type PropertyOp = 'equal' | 'notEqual' | 'greaterThanInclusive' | 'lessThanInclusive';

export type Line =
  | { kind: 'property'; property: string; op: PropertyOp; value: string }
  | { kind: 'tag'; tag: string; has: boolean }
  /** "did <event> at least <n> times in the last <ago>" */
  | { kind: 'did'; event: string; atLeast: number; ago: Ago }
  /** "did <event> in the last <ago>" (its last time is within) */
  | { kind: 'recent'; event: string; ago: Ago }
  /** "no <event> in the last <ago>" (never counts as not lately) */
  | { kind: 'not_since'; event: string; ago: Ago }
  /** "spent at least <amount> on <event> in the last <ago>" (sum of `amount`) */
  | { kind: 'spent'; event: string; atLeast: number; ago: Ago };

export const PROPERTY_OPS: Record<PropertyOp, string> = { equal: 'is', notEqual: 'is not', greaterThanInclusive: 'is at least', lessThanInclusive: 'is at most' };

export const duration = (a: Ago) => `P${a.n}${a.unit}`;

function parseAgo(v: unknown): Ago | null {
  const m = typeof v === 'string' ? /^P(\d+)([DW])$/.exec(v) : null;
  return m ? { n: Number(m[1]), unit: m[2] as Ago['unit'] } : null;
}

export function toCondition(l: Line): Record<string, unknown> {
  switch (l.kind) {
    case 'property': {
      const n = Number(l.value);
      return { fact: 'contact', path: `$.properties.${l.property}`, operator: l.op, value: l.value.trim() !== '' && !Number.isNaN(n) ? n : l.value };
    }
    case 'tag':
      return { fact: 'contact', operator: l.has ? 'hasTag' : 'notHasTag', value: l.tag };
    case 'did':
      return { fact: 'activity', params: { event: l.event, measure: 'count', within: duration(l.ago) }, operator: 'greaterThanInclusive', value: l.atLeast };
    case 'spent':
      return { fact: 'activity', params: { event: l.event, measure: 'sum', within: duration(l.ago) }, operator: 'greaterThanInclusive', value: l.atLeast };
    case 'recent':
      return { fact: 'activity', params: { event: l.event, measure: 'last_at' }, operator: 'withinLast', value: duration(l.ago) };
    case 'not_since':
      return { fact: 'activity', params: { event: l.event, measure: 'last_at' }, operator: 'notWithinLast', value: duration(l.ago) };
  }
}

export const ruleOf = (lines: Line[]) => ({ all: lines.map(toCondition) });

type Cond = { fact?: unknown; path?: unknown; operator?: unknown; value?: unknown; params?: { event?: unknown; measure?: unknown; within?: unknown } };

function fromCondition(c: Cond): Line | null {
  if (c.fact === 'contact') {
    if ((c.operator === 'hasTag' || c.operator === 'notHasTag') && typeof c.value === 'string') return { kind: 'tag', tag: c.value, has: c.operator === 'hasTag' };
    const m = typeof c.path === 'string' ? /^\$\.properties\.([A-Za-z0-9_]+)$/.exec(c.path) : null;
    if (m && typeof c.operator === 'string' && c.operator in PROPERTY_OPS && (typeof c.value === 'string' || typeof c.value === 'number')) {
      return { kind: 'property', property: m[1]!, op: c.operator as PropertyOp, value: String(c.value) };
    }
    return null;
  }
  if (c.fact !== 'activity' || typeof c.params?.event !== 'string') return null;
  const event = c.params.event;
  const within = parseAgo(c.params.within);
  if (within && c.operator === 'greaterThanInclusive' && typeof c.value === 'number') {
    if (c.params.measure === 'count') return { kind: 'did', event, atLeast: c.value, ago: within };
    if (c.params.measure === 'sum') return { kind: 'spent', event, atLeast: c.value, ago: within };
  }
  const ago = parseAgo(c.value);
  if (c.params.measure === 'last_at' && c.params.within === undefined && ago) {
    if (c.operator === 'withinLast') return { kind: 'recent', event, ago };
    if (c.operator === 'notWithinLast') return { kind: 'not_since', event, ago };
  }
  return null;
}

/** The lines a rule reads as, or null when it has a part the line editor cannot show. */
export function linesOf(rule: unknown): Line[] | null {
  const all = (rule as { all?: unknown } | null)?.all;
  if (!rule || typeof rule !== 'object' || Object.keys(rule).length !== 1 || !Array.isArray(all)) return null;
  const lines = all.map((c) => (c && typeof c === 'object' ? fromCondition(c as Cond) : null));
  return lines.every((l): l is Line => l !== null) ? lines : null;
}
