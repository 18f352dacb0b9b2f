import { Rule } from 'json-rules-engine';
import { CONDITION_FACTS, factList, isConditionFact } from './facts.ts';
import { checkPath } from './json-path.ts';
import { BUILTIN_OPERATOR_NAMES, CUSTOM_OPERATOR_NAMES, compileRegex, isKnownOperator } from './operators.ts';
import { isValidDuration } from '../time/duration.ts';

/** A problem in a condition: `path` is a JSON Pointer relative to the condition, `message` says the fix. */
export interface ConditionProblem {
  path: string;
  message: string;
}

const BOOLEAN_KEYS = ['all', 'any', 'not'];
const BOOLEAN_ALLOWED = new Set([...BOOLEAN_KEYS, 'priority', 'name']);
const LEAF_ALLOWED = new Set(['fact', 'path', 'operator', 'value', 'params', 'priority', 'name']);
const REF_ALLOWED = new Set(['fact', 'path', 'params']);
const MAX_DEPTH = 20;
const MAX_CONDITIONS = 500;
const COMPARISONS = new Set(['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']);
/** A quantified group that itself contains a quantifier: the classic catastrophic-backtracking shape. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d)/;
const STRING_VALUED = new Set(['startsWith', 'endsWith', 'hasTag', 'notHasTag']);

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
export function checkCondition(rule: unknown): ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  const budget = { left: MAX_CONDITIONS };
  if (!isObject(rule) || !BOOLEAN_KEYS.some((k) => Object.hasOwn(rule, k))) {
    return [{ path: '', message: 'must be a condition object whose root is "all", "any" or "not", e.g. {"all": [ ... ]}' }];
  }
  walk(rule, '', 0, problems, budget);
  if (problems.length === 0) {
    try {
      new Rule({ conditions: rule as never, event: { type: 'cairn.check' } });
    } catch (err) {
      problems.push({ path: '', message: `is rejected by json-rules-engine: ${(err as Error).message}` });
    }
  }
  return problems;
}

function walk(c: unknown, at: string, depth: number, out: ConditionProblem[], budget: { left: number }): void {
  if (--budget.left < 0) {
    if (budget.left === -1) out.push({ path: at, message: `makes the condition too large (more than ${MAX_CONDITIONS} conditions); split it up` });
    return;
  }
  if (depth > MAX_DEPTH) {
    out.push({ path: at, message: `nests conditions deeper than ${MAX_DEPTH} levels; flatten it` });
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
      else walk(inner, `${at}/not`, depth + 1, out, budget);
    } else if (!Array.isArray(inner)) {
      out.push({ path: `${at}/${key}`, message: `must be a list of conditions, e.g. "${key}": [ ... ]` });
    } else {
      inner.forEach((child, i) => walk(child, `${at}/${key}/${i}`, depth + 1, out, budget));
    }
    checkPriority(c, at, out);
    return;
  }
  checkLeaf(c, at, out);
}

function checkPriority(c: Record<string, unknown>, at: string, out: ConditionProblem[]): void {
  if (Object.hasOwn(c, 'priority') && !(Number.isInteger(c.priority) && (c.priority as number) >= 1)) {
    out.push({ path: `${at}/priority`, message: `must be a whole number of at least 1, not ${show(c.priority)}` });
  }
}

function checkFactRef(c: Record<string, unknown>, at: string, out: ConditionProblem[]): void {
  const { fact, path } = c;
  if (!isConditionFact(fact)) {
    out.push({ path: `${at}/fact`, message: `${show(fact)} is not a fact; use ${factList()}` });
  } else if (Object.hasOwn(c, 'params') && !CONDITION_FACTS[fact].takesParams) {
    out.push({ path: `${at}/params`, message: `the "${fact}" fact takes no params (they would be ignored); remove "params"` });
  }
  if (path !== undefined) {
    const problem = checkPath(path);
    if (problem) out.push({ path: `${at}/path`, message: `${show(path)} ${problem}` });
  }
}

function checkLeaf(c: Record<string, unknown>, at: string, out: ConditionProblem[]): void {
  for (const k of Object.keys(c)) {
    if (!LEAF_ALLOWED.has(k)) out.push({ path: `${at}/${escape(k)}`, message: `is not a condition field; use fact, path, operator, value` });
  }
  for (const k of ['fact', 'operator', 'value']) {
    if (!Object.hasOwn(c, k)) out.push({ path: at, message: `needs "${k}" (a condition is { "fact", "path"?, "operator", "value" })` });
  }
  if (Object.hasOwn(c, 'fact')) checkFactRef(c, at, out);
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
    checkFactRef(value, `${at}/value`, out);
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
    } else if (NESTED_QUANTIFIER.test(value)) {
      out.push({ path: at, message: `${show(value)} repeats a repeated group (like "(a+)+"), which can take exponential time; simplify it` });
    } else {
      try {
        compileRegex(value);
      } catch (err) {
        out.push({ path: at, message: `${show(value)} is not a valid regular expression (${(err as Error).message})` });
      }
    }
  } else if ((op === 'withinLast' || op === 'notWithinLast') && !isValidDuration(value)) {
    out.push({ path: at, message: `${show(value)} must be an ISO 8601 duration such as "P30D" for "${op}"` });
  }
}
