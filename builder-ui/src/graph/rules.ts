import type { KnownFields, RuleJson } from '../api/types.ts';
import { formatDuration } from './plain.ts';

/**
 * The rule builder's model of a json-rules-engine condition. It is a view over the JSON, not a copy of it:
 * each node keeps the object it was read from in `raw`, edits produce a new raw object with the same keys
 * in the same order, and `toRule(fromRule(x))` is `x` exactly (including `params`, `name`, `priority`,
 * `{ condition: "ref" }` references and custom operators).
 */
export type GroupKind = 'all' | 'any';

export type RuleNode =
  | { kind: 'group'; op: GroupKind; children: RuleNode[]; raw: RuleJson }
  | { kind: 'not'; child: RuleNode; raw: RuleJson }
  | { kind: 'fact'; fact: string; path: string; operator: string; value: unknown; params?: ActivityParams; raw: RuleJson }
  /** A shape the builder does not edit (e.g. `{ condition: "name" }`); kept verbatim. */
  | { kind: 'opaque'; raw: RuleJson };

/**
 * What an operator's value is: `scalar` (typed text, numbers read as numbers), `list` (comma-separated), `none`
 * (no value to type: stored as `true`), `duration` (typed as "30 days", stored as ISO), `tag` (a tag name).
 */
export type ValueKind = 'scalar' | 'list' | 'none' | 'duration' | 'tag';

/** Every operator of the engine (json-rules-engine's and Cairn's own), in words. */
export const OPERATORS: Array<{ value: string; label: string; kind: ValueKind }> = [
  { value: 'equal', label: 'is', kind: 'scalar' },
  { value: 'notEqual', label: 'is not', kind: 'scalar' },
  { value: 'in', label: 'is one of', kind: 'list' },
  { value: 'notIn', label: 'is not one of', kind: 'list' },
  { value: 'greaterThan', label: 'is more than', kind: 'scalar' },
  { value: 'greaterThanInclusive', label: 'is at least', kind: 'scalar' },
  { value: 'lessThan', label: 'is less than', kind: 'scalar' },
  { value: 'lessThanInclusive', label: 'is at most', kind: 'scalar' },
  { value: 'startsWith', label: 'starts with', kind: 'scalar' },
  { value: 'endsWith', label: 'ends with', kind: 'scalar' },
  { value: 'matches', label: 'matches the pattern', kind: 'scalar' },
  { value: 'contains', label: 'includes', kind: 'scalar' },
  { value: 'doesNotContain', label: 'does not include', kind: 'scalar' },
  { value: 'exists', label: 'is set', kind: 'none' },
  { value: 'notExists', label: 'is not set', kind: 'none' },
  { value: 'isEmpty', label: 'is empty', kind: 'none' },
  { value: 'isNotEmpty', label: 'is not empty', kind: 'none' },
  { value: 'withinLast', label: 'is within the last', kind: 'duration' },
  { value: 'notWithinLast', label: 'is not within the last (or never)', kind: 'duration' },
  { value: 'before', label: 'is more than … ago', kind: 'duration' },
  { value: 'after', label: 'is less than … ago', kind: 'duration' },
  { value: 'hasTag', label: 'has the tag', kind: 'tag' },
  { value: 'notHasTag', label: 'does not have the tag', kind: 'tag' },
];

/** json-rules-engine's operator decorators (`not:startsWith`, `someFact:equal`), in words. */
const DECORATORS: Record<string, (inner: string) => string> = {
  not: (l) => `not (${l})`,
  someFact: (l) => `has an item that ${l}`,
  everyFact: (l) => `has only items that ${l}`,
  someValue: (l) => `${l} any of`,
  everyValue: (l) => `${l} all of`,
  swap: (l) => `${l} (swapped)`,
};

/** An operator in words, decorated ones included ("not (starts with)"); an unknown one is shown as written. */
export function operatorLabel(operator: string): string {
  const plain = OPERATORS.find((o) => o.value === operator);
  if (plain) return plain.label;
  const i = operator.indexOf(':');
  const decorate = i > 0 ? DECORATORS[operator.slice(0, i)] : undefined;
  return decorate ? decorate(operatorLabel(operator.slice(i + 1))) : operator;
}

export const valueKind = (operator: string): ValueKind => OPERATORS.find((o) => o.value === operator)?.kind ?? valueKindOfDecorated(operator);
const valueKindOfDecorated = (operator: string): ValueKind => {
  const inner = operator.slice(operator.indexOf(':') + 1);
  return operator.includes(':') ? valueKind(inner) : 'scalar';
};

export const FACTS = ['contact', 'event', 'run', 'activity'];
export const FACT_LABELS: Record<string, string> = { contact: 'Contact', event: 'Event', run: 'Earlier step', activity: 'Activity' };

/** The `activity` fact's params (CONTRACT.md, behavioural facts): what to measure over which events, in which window. */
export interface ActivityParams {
  event: string;
  measure: 'count' | 'sum' | 'last_at' | 'first_at';
  within?: string;
}
export const MEASURES: Array<{ value: ActivityParams['measure']; label: string; windowed: boolean }> = [
  { value: 'count', label: 'Number of', windowed: true },
  { value: 'sum', label: 'Total amount of', windowed: true },
  { value: 'last_at', label: 'Last time of', windowed: false },
  { value: 'first_at', label: 'First time of', windowed: false },
];

/** "3 or more order.completed in the last 90 days": a count over a window, compared with at least. */
export function newActivityFact(event = ''): RuleNode {
  const params: ActivityParams = { event, measure: 'count', within: 'P90D' };
  return { kind: 'fact', fact: 'activity', path: '', operator: 'greaterThanInclusive', value: 1, params, raw: { fact: 'activity', params, operator: 'greaterThanInclusive', value: 1 } };
}

/** The data a workspace's contacts and events carry (`GET /v1/fields`): what the field pickers offer. */
export type { KnownFields };

/** Fields of the contact and the event that are not properties. */
export const STANDARD_FIELDS: Record<string, Array<{ path: string; label: string }>> = {
  contact: [
    { path: '$.email', label: 'Email' },
    { path: '$.tags', label: 'Tags' },
    { path: '$.score', label: 'Score' },
    { path: '$.owner_id', label: 'Owner' },
    { path: '$.lifecycle_stage', label: 'Lifecycle stage' },
    { path: '$.timezone', label: 'Timezone' },
    { path: '$.external_id', label: 'External id' },
    { path: '$.created_at', label: 'Created at' },
  ],
  event: [
    { path: '$.type', label: 'Event type' },
    { path: '$.occurred_at', label: 'Occurred at' },
  ],
  run: [],
};

/** `$.properties.plan` for a plain key, `$.properties['first name']` otherwise. */
export function propertyPath(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `$.properties.${key}` : `$.properties['${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
}

/** The property key a path names, or null when it is not a single property (`$.properties.a.b`, `$.email`). */
export function propertyKey(path: string): string | null {
  const plain = /^\$\.properties\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(path);
  if (plain) return plain[1]!;
  const quoted = /^\$\.properties\['((?:[^'\\]|\\.)*)'\]$/.exec(path);
  return quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : null;
}

export function fromRule(raw: RuleJson | null | undefined): RuleNode {
  if (!raw || typeof raw !== 'object') return { kind: 'group', op: 'all', children: [], raw: { all: [] } };
  if (Array.isArray(raw.all) || Array.isArray(raw.any)) {
    const op: GroupKind = Array.isArray(raw.all) ? 'all' : 'any';
    return { kind: 'group', op, children: (raw[op] as RuleJson[]).map(fromRule), raw };
  }
  if (raw.not && typeof raw.not === 'object') return { kind: 'not', child: fromRule(raw.not as RuleJson), raw };
  if (typeof raw.fact === 'string' && typeof raw.operator === 'string') {
    return {
      kind: 'fact',
      fact: raw.fact,
      path: typeof raw.path === 'string' ? raw.path : '',
      operator: raw.operator,
      value: raw.value,
      ...(raw.params && typeof raw.params === 'object' ? { params: raw.params as ActivityParams } : {}),
      raw,
    };
  }
  return { kind: 'opaque', raw };
}

export function toRule(node: RuleNode): RuleJson {
  switch (node.kind) {
    case 'group': {
      const out: RuleJson = {};
      let placed = false;
      // Rename `all` ⇄ `any` in place so the key keeps its position among the group's other keys.
      for (const [k, v] of Object.entries(node.raw)) {
        if (k === 'all' || k === 'any') {
          if (!placed) out[node.op] = node.children.map(toRule);
          placed = true;
        } else out[k] = v;
      }
      if (!placed) out[node.op] = node.children.map(toRule);
      return out;
    }
    case 'not':
      return { ...node.raw, not: toRule(node.child) };
    case 'fact': {
      const out: RuleJson = { ...node.raw, fact: node.fact };
      if (node.path !== '' || 'path' in node.raw) out.path = node.path;
      if (node.path === '' && !('path' in node.raw)) delete out.path;
      if (node.params) out.params = node.params;
      else delete out.params;
      out.operator = node.operator;
      out.value = node.value;
      return out;
    }
    case 'opaque':
      return node.raw;
  }
}

export function newFact(): RuleNode {
  return { kind: 'fact', fact: 'contact', path: '$.properties.', operator: 'equal', value: '', raw: { fact: 'contact', path: '$.properties.', operator: 'equal', value: '' } };
}

export function newGroup(op: GroupKind = 'all'): RuleNode {
  return { kind: 'group', op, children: [newFact()], raw: { [op]: [] } };
}

/** Text shown in a value box: strings as typed, lists comma-separated, anything else as JSON. */
export function formatValue(value: unknown, operator: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && (operator === 'in' || operator === 'notIn') && value.every((v) => typeof v !== 'object' || v === null)) {
    return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  }
  return value === undefined ? '' : JSON.stringify(value);
}

function parseScalar(text: string): unknown {
  const t = text.trim();
  if (t === '') return '';
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false' || t === 'null') return JSON.parse(t);
  if (/^[[{"]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

/** Inverse of `formatValue`: numbers and booleans become typed, lists split on commas for `in`/`notIn`. */
export function parseValue(text: string, operator: string): unknown {
  if (valueKind(operator) === 'none') return true;
  if (valueKind(operator) === 'tag') return text.trim();
  if (operator === 'in' || operator === 'notIn') {
    const t = text.trim();
    if (t.startsWith('[')) return parseScalar(t);
    return t === '' ? [] : t.split(',').map((s) => parseScalar(s.trim()));
  }
  return parseScalar(text);
}

/** One-line summary of a rule for node cards: `employees ≥ 50 AND country is one of US, CA`. */
export function describeRule(raw: RuleJson | null | undefined): string {
  const node = fromRule(raw);
  const label = (n: RuleNode, top: boolean): string => {
    switch (n.kind) {
      case 'fact': {
        if (n.fact === 'activity' && n.params) return describeActivity(n.params, n.operator, n.value);
        const path = propertyKey(n.path) ?? (STANDARD_FIELDS[n.fact]?.find((f) => f.path === n.path)?.label.toLowerCase() ?? (n.path.replace(/^\$\.?(properties\.)?/, '') || n.fact));
        const op = operatorLabel(n.operator);
        const kind = valueKind(n.operator);
        if (kind === 'none') return `${path} ${op}`;
        if (kind === 'tag') return `${n.path && n.path !== '$.tags' ? `${path} ` : ''}${op} ${formatValue(n.value, n.operator)}`;
        return `${path} ${op} ${kind === 'duration' && typeof n.value === 'string' ? formatDuration(n.value) : formatValue(n.value, n.operator)}`;
      }
      case 'group': {
        const inner = n.children.map((c) => label(c, false)).join(n.op === 'all' ? ' AND ' : ' OR ');
        return top || n.children.length < 2 ? inner : `(${inner})`;
      }
      case 'not':
        return `NOT ${label(n.child, false)}`;
      case 'opaque':
        return typeof n.raw.condition === 'string' ? `@${n.raw.condition}` : 'custom rule';
    }
  };
  return label(node, true);
}

/** "number of order.completed in the last 90 days is at least 3", "last time of order.completed is within the last 30 days". */
function describeActivity(p: ActivityParams, operator: string, value: unknown): string {
  const measure = (MEASURES.find((m) => m.value === p.measure)?.label ?? p.measure).toLowerCase();
  const window = p.within && (p.measure === 'count' || p.measure === 'sum') ? ` in the last ${formatDuration(p.within)}` : '';
  const shown = valueKind(operator) === 'duration' && typeof value === 'string' ? formatDuration(value) : formatValue(value, operator);
  return `${measure} ${p.event || '…'}${window} ${operatorLabel(operator)}${valueKind(operator) === 'none' ? '' : ` ${shown}`}`;
}
