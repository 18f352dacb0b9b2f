import { Rule } from 'json-rules-engine';
import { CONDITION_FACTS, isConditionFact } from './facts.ts';
import { checkPath } from './json-path.ts';
import { BUILTIN_OPERATOR_NAMES, CUSTOM_OPERATOR_NAMES, isKnownOperator } from './operators.ts';
import { compileRegex } from './regex.ts';
import { isValidDuration } from '../time/duration.ts';

/** A problem in a condition: `path` is a JSON Pointer relative to the condition, `message` says the fix. */
export interface ConditionProblem {
  path: string;
  message: string;
}

/** Flow conditions: the executor supplies these (`activity` loaded for the flows that read it). */
const FLOW_FACTS: readonly string[] = ['contact', 'event', 'run', 'activity'];
/** Lead-scoring rules are evaluated at ingestion over the contact and the event only. */
export const SCORING_FACTS: readonly string[] = ['contact', 'event', 'run'];
export const ACTIVITY_MEASURES = ['count', 'last_at', 'first_at', 'sum'] as const;
const ACTIVITY_PARAMS = new Set(['event', 'measure', 'within']);

/** Where a condition is used decides what it may name (a segment rule: `contact`, `activity`) and how big it may be. */
export interface CheckOptions {
  facts?: readonly string[];
  maxConditions?: number;
  maxDepth?: number;
}
interface Walk {
  facts: readonly string[];
  maxDepth: number;
  maxConditions: number;
  budget: { left: number };
}

const BOOLEAN_KEYS = ['all', 'any', 'not'];
const BOOLEAN_ALLOWED = new Set([...BOOLEAN_KEYS, 'priority', 'name']);
const LEAF_ALLOWED = new Set(['fact', 'path', 'operator', 'value', 'params', 'priority', 'name']);
const REF_ALLOWED = new Set(['fact', 'path', 'params']);
const MAX_DEPTH = 20;
const MAX_CONDITIONS = 500;
const COMPARISONS = new Set(['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']);
const STRING_VALUED = new Set(['startsWith', 'endsWith', 'hasTag', 'notHasTag']);
const RELATIVE_TIME = new Set(['withinLast', 'notWithinLast', 'before', 'after']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
const escape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Checks a flow condition the way json-rules-engine will see it, and more strictly: facts are only
 * `contact`/`event`/`run`, paths are JSONPath from `$`, operators are json-rules-engine's (with decorators such
 * as `not:`) or Cairn's custom ones, values fit their operator, and a real json-rules-engine `Rule` must accept
 * it. Reports every problem, never stops at the first.
 */
export function checkCondition(rule: unknown, opts: CheckOptions = {}): ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  const maxConditions = opts.maxConditions ?? MAX_CONDITIONS;
  const w: Walk = { facts: opts.facts ?? FLOW_FACTS, maxDepth: opts.maxDepth ?? MAX_DEPTH, maxConditions, budget: { left: maxConditions } };
  if (!isObject(rule) || !BOOLEAN_KEYS.some((k) => Object.hasOwn(rule, k))) {
    return [{ path: '', message: 'must be a condition object whose root is "all", "any" or "not", e.g. {"all": [ ... ]}' }];
  }
  walk(rule, '', 0, problems, w);
  if (problems.length === 0) {
    try {
      new Rule({ conditions: rule as never, event: { type: 'cairn.check' } });
    } catch (err) {
      problems.push({ path: '', message: `is rejected by json-rules-engine: ${(err as Error).message}` });
    }
  }
  return problems;
}

function walk(c: unknown, at: string, depth: number, out: ConditionProblem[], w: Walk): void {
  if (--w.budget.left < 0) {
    if (w.budget.left === -1) out.push({ path: at, message: `makes the condition too large (more than ${w.maxConditions} conditions); split it up` });
    return;
  }
  if (depth > w.maxDepth) {
    out.push({ path: at, message: `nests conditions deeper than ${w.maxDepth} levels; flatten it` });
    return;
  }
  if (!isObject(c)) {
    out.push({ path: at, message: `must be a condition object, not ${show(c)}` });
    return;
  }
  const bool = BOOLEAN_KEYS.filter((k) => Object.hasOwn(c, k));
  if (bool.length > 1) {
    out.push({ path: at, message: `has ${bool.map((k) => `"${k}"`).join(' and ')}; a condition has exactly one of "all", "any", "not" — nest them instead` });
    return;
  }
  if (Object.hasOwn(c, 'condition')) {
    out.push({ path: `${at}/condition`, message: 'shared condition references are not supported; write the condition inline' });
    return;
  }
  if (bool.length === 1) {
    const key = bool[0];
    for (const k of Object.keys(c)) {
      if (!BOOLEAN_ALLOWED.has(k)) out.push({ path: `${at}/${escape(k)}`, message: `is not allowed next to "${key}"; remove it` });
    }
    const inner = c[key];
    if (key === 'not') {
      if (!isObject(inner)) out.push({ path: `${at}/not`, message: 'must be one condition object (not a list)' });
      else walk(inner, `${at}/not`, depth + 1, out, w);
    } else if (!Array.isArray(inner)) {
      out.push({ path: `${at}/${key}`, message: `must be a list of conditions, e.g. "${key}": [ ... ]` });
    } else {
      inner.forEach((child, i) => walk(child, `${at}/${key}/${i}`, depth + 1, out, w));
    }
    checkPriority(c, at, out);
    return;
  }
  checkLeaf(c, at, out, w.facts);
}

function checkPriority(c: Record<string, unknown>, at: string, out: ConditionProblem[]): void {
  if (Object.hasOwn(c, 'priority') && !(Number.isInteger(c.priority) && (c.priority as number) >= 1)) {
    out.push({ path: `${at}/priority`, message: `must be a whole number of at least 1, not ${show(c.priority)}` });
  }
}

function checkFactRef(c: Record<string, unknown>, at: string, out: ConditionProblem[], facts: readonly string[]): void {
  const { fact, path } = c;
  if (!isConditionFact(fact) || !facts.includes(fact)) {
    const names = facts.map((f) => `"${f}"`);
    const allowed = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('');
    const hint = fact === 'activity' ? ' (activity is read by flow conditions and segment rules, not here)' : '';
    out.push({ path: `${at}/fact`, message: `${show(fact)} is not a fact${isConditionFact(fact) ? ' here' : ''}; use ${allowed}${hint}` });
  } else if (Object.hasOwn(c, 'params') && !CONDITION_FACTS[fact].takesParams) {
    out.push({ path: `${at}/params`, message: `the "${fact}" fact takes no params (they would be ignored); remove "params"` });
  } else if (fact === 'activity') {
    checkActivityParams(c.params, at, out);
  }
  if (path !== undefined) {
    const problem = checkPath(path);
    if (problem) out.push({ path: `${at}/path`, message: `${show(path)} ${problem}` });
  }
}

/** `activity` params: `{ event, measure, within? }`; a window applies to counts and sums. */
function checkActivityParams(params: unknown, at: string, out: ConditionProblem[]): void {
  const example = '{"event": "order.completed", "measure": "count", "within": "P90D"}';
  if (!isObject(params)) {
    out.push({ path: `${at}/params`, message: `the "activity" fact needs params such as ${example}` });
    return;
  }
  for (const k of Object.keys(params)) {
    if (!ACTIVITY_PARAMS.has(k)) out.push({ path: `${at}/params/${escape(k)}`, message: 'is not an activity param; use event, measure, within' });
  }
  if (typeof params.event !== 'string' || params.event.length === 0 || params.event.length > 200) {
    out.push({ path: `${at}/params/event`, message: 'must be an event type such as "order.completed"' });
  }
  if (!(ACTIVITY_MEASURES as readonly unknown[]).includes(params.measure)) {
    out.push({ path: `${at}/params/measure`, message: `${show(params.measure)} is not a measure; use ${ACTIVITY_MEASURES.map((m) => `"${m}"`).join(', ')}` });
  }
  if (params.within !== undefined) {
    if (!isValidDuration(params.within)) out.push({ path: `${at}/params/within`, message: `${show(params.within)} must be an ISO 8601 duration such as "P90D"` });
    else if (params.measure !== 'count' && params.measure !== 'sum') {
      out.push({ path: `${at}/params/within`, message: 'a window applies to "count" and "sum"; for times use the withinLast / notWithinLast / before / after operators' });
    }
  }
}

function checkLeaf(c: Record<string, unknown>, at: string, out: ConditionProblem[], facts: readonly string[]): void {
  for (const k of Object.keys(c)) {
    if (!LEAF_ALLOWED.has(k)) out.push({ path: `${at}/${escape(k)}`, message: `is not a condition field; use fact, path, operator, value` });
  }
  for (const k of ['fact', 'operator', 'value']) {
    if (!Object.hasOwn(c, k)) out.push({ path: at, message: `needs "${k}" (a condition is { "fact", "path"?, "operator", "value" })` });
  }
  if (Object.hasOwn(c, 'fact')) checkFactRef(c, at, out, facts);
  checkPriority(c, at, out);
  if (!Object.hasOwn(c, 'operator')) return;
  const op = c.operator;
  if (typeof op !== 'string' || !isKnownOperator(op)) {
    out.push({
      path: `${at}/operator`,
      message: `${show(op)} is not an operator; use one of ${[...BUILTIN_OPERATOR_NAMES, ...CUSTOM_OPERATOR_NAMES].join(', ')} (optionally decorated, e.g. "not:startsWith")`,
    });
    return;
  }
  if (!Object.hasOwn(c, 'value')) return;
  const value = c.value;
  if (isObject(value) && Object.hasOwn(value, 'fact')) {
    for (const k of Object.keys(value)) {
      if (!REF_ALLOWED.has(k)) out.push({ path: `${at}/value/${escape(k)}`, message: 'is not allowed in a fact reference { "fact", "path" }' });
    }
    checkFactRef(value, `${at}/value`, out, facts);
    return;
  }
  checkValue(op, value, `${at}/value`, out);
}

/** Value checks for undecorated operators; decorated ones (`someValue:in`) are left to json-rules-engine. */
function checkValue(op: string, value: unknown, at: string, out: ConditionProblem[]): void {
  if ((op === 'in' || op === 'notIn') && !Array.isArray(value)) {
    out.push({ path: at, message: `must be a list for "${op}", e.g. ["US", "CA"], not ${show(value)}` });
  } else if (COMPARISONS.has(op) && typeof value !== 'number' && typeof value !== 'string') {
    out.push({ path: at, message: `must be a number (or string) for "${op}", not ${show(value)}` });
  } else if (STRING_VALUED.has(op) && typeof value !== 'string') {
    out.push({ path: at, message: `must be a string for "${op}", not ${show(value)}` });
  } else if (op === 'matches') {
    if (typeof value !== 'string') {
      out.push({ path: at, message: `must be a regular expression string for "matches", e.g. "^acme" or "/acme/i", not ${show(value)}` });
    } else if (value.length > 200) {
      out.push({ path: at, message: `is a regular expression of ${value.length} characters; keep it under 200` });
    } else {
      try {
        compileRegex(value);
      } catch (err) {
        out.push({ path: at, message: `${show(value)} is not a regular expression Cairn can run (RE2 syntax: no backreferences or lookaround; ${(err as Error).message})` });
      }
    }
  } else if (RELATIVE_TIME.has(op) && !isValidDuration(value)) {
    out.push({ path: at, message: `${show(value)} must be an ISO 8601 duration such as "P30D" for "${op}"` });
  }
}
