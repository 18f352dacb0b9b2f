import type { RuleJson } from '../api/types.ts';

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
  | { kind: 'fact'; fact: string; path: string; operator: string; value: unknown; raw: RuleJson }
  /** A shape the builder does not edit (e.g. `{ condition: "name" }`); kept verbatim. */
  | { kind: 'opaque'; raw: RuleJson };

export const OPERATORS: Array<{ value: string; label: string }> = [
  { value: 'equal', label: 'equals' },
  { value: 'notEqual', label: 'does not equal' },
  { value: 'greaterThan', label: '>' },
  { value: 'greaterThanInclusive', label: '≥' },
  { value: 'lessThan', label: '<' },
  { value: 'lessThanInclusive', label: '≤' },
  { value: 'in', label: 'is one of' },
  { value: 'notIn', label: 'is not one of' },
  { value: 'contains', label: 'contains' },
  { value: 'doesNotContain', label: 'does not contain' },
];

export const FACTS = ['contact', 'event', 'run'];

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
        const path = n.path.replace(/^\$\.?(properties\.)?/, '') || n.fact;
        const op = OPERATORS.find((o) => o.value === n.operator)?.label ?? n.operator;
        return `${path} ${op} ${formatValue(n.value, n.operator)}`;
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
