import { createSystemClock } from '../time/clock.ts';
import { CONDITION_FACTS, factList, isConditionFact } from './facts.ts';
import { compilePath, isSimplePath, type PathReader } from './json-path.ts';
import { createOperatorTable, type Evaluate, type NowSource } from './operators.ts';

/** The facts a flow condition sees. All three keys are always given (`event` may be null). */
export interface ConditionFacts {
  contact: unknown;
  event: unknown;
  run: unknown;
  /** The `activity` fact (behavioural attributes): reads one measure, given the condition's `params`. */
  activity?: (params: Record<string, unknown>) => unknown;
}

/**
 * Evaluates the condition. `now` is the engine clock's time for time-relative operators (`withinLast`);
 * without it the compile-time `clock` is read.
 */
export type CompiledCondition = (facts: ConditionFacts, opts?: { now?: Date }) => boolean;

export interface CompileConditionOptions {
  /** Default time source when an evaluation gives no `now`. Defaults to the system clock. */
  clock?: NowSource;
}

interface Compiled {
  evaluate: (facts: ConditionFacts) => unknown;
  /** Whether evaluating may throw (json-rules-engine would reject): such siblings are never skipped. */
  mayThrow: boolean;
  priority: number;
}

type Raw = Record<string, unknown>;

const COMPARISONS = new Set(['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']);

/**
 * Compiles a json-rules-engine condition once into a synchronous function with json-rules-engine 7's exact
 * results: the same operators (shared functions), the same path resolution, the same `all`/`any`/`not`
 * rules — an empty `any` is true, siblings are grouped by `priority` and a group short-circuits the next —
 * and it throws wherever json-rules-engine's `run()` would reject (e.g. `in` against a non-array fact value).
 * Throws at compile time on a condition json-rules-engine would not construct; validate first for messages.
 */
export function compileCondition(rule: unknown, opts: CompileConditionOptions = {}): CompiledCondition {
  if (!isObject(rule) || !booleanOperator(rule)) {
    throw new TypeError('a condition\'s root must contain "all", "any" or "not"');
  }
  const fallback = opts.clock ?? createSystemClock();
  // Evaluation is synchronous, so the per-call `now` can sit in this closure while the operators run.
  let current: Date | undefined;
  const operators = createOperatorTable({ now: () => current ?? fallback.now() });
  const root = compileNode(rule, operators, '');
  return (facts, evalOpts) => {
    current = evalOpts?.now;
    try {
      return root.evaluate(facts) === true;
    } finally {
      current = undefined;
    }
  };
}

function isObject(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** json-rules-engine's own precedence: `any`, then `all`, then `not`. */
function booleanOperator(c: Raw): 'any' | 'all' | 'not' | undefined {
  if (Object.hasOwn(c, 'any')) return 'any';
  if (Object.hasOwn(c, 'all')) return 'all';
  if (Object.hasOwn(c, 'not')) return 'not';
  return undefined;
}

/** json-rules-engine: `parseInt(priority, 10) || 1`, for boolean and leaf conditions alike (facts are priority 1). */
const priorityOf = (c: Raw): number => Number.parseInt(c.priority as string, 10) || 1;

function compileNode(c: unknown, operators: (name: string) => Evaluate | undefined, at: string): Compiled {
  if (!isObject(c)) throw new TypeError(`${at || '/'}: a condition must be an object`);
  const op = booleanOperator(c);
  if (op === 'not') {
    if (Array.isArray(c.not)) throw new TypeError(`${at}/not: "not" cannot be an array`);
    const inner = compileNode(c.not, operators, `${at}/not`);
    return { evaluate: (f) => !(inner.evaluate(f) === true), mayThrow: inner.mayThrow, priority: priorityOf(c) };
  }
  if (op) {
    const list = c[op];
    if (!Array.isArray(list)) throw new TypeError(`${at}/${op}: "${op}" must be an array`);
    const children = list.map((child, i) => compileNode(child, operators, `${at}/${op}/${i}`));
    return { evaluate: compileGroup(children, op), mayThrow: children.some((ch) => ch.mayThrow), priority: priorityOf(c) };
  }
  if (Object.hasOwn(c, 'condition')) throw new TypeError(`${at}: shared condition references are not supported`);
  return compileLeaf(c, operators, at);
}

/**
 * `all`/`any` over children, reproducing json-rules-engine's prioritizeAndRun: priority sets run in turn and a
 * decided set stops the next, but inside a set json-rules-engine evaluates every child (Promise.all), so once
 * the set's answer is known the children that may throw are still evaluated: their throw must surface.
 */
function compileGroup(children: Compiled[], op: 'all' | 'any'): Compiled['evaluate'] {
  if (children.length === 0) return () => true;
  if (children.length === 1) return children[0].evaluate;
  const byPriority = new Map<number, Compiled[]>();
  for (const ch of children) byPriority.set(ch.priority, [...(byPriority.get(ch.priority) ?? []), ch]);
  const sets = [...byPriority.entries()].sort((a, b) => b[0] - a[0]).map(([, set]) => set);
  // The answer that decides a set: one false decides an `all`, one true an `any`.
  const decisive = op === 'any';
  return (facts) => {
    for (const set of sets) {
      let decided = false;
      for (const child of set) {
        if (!decided) decided = (child.evaluate(facts) === true) === decisive;
        else if (child.mayThrow) child.evaluate(facts);
      }
      if (decided) return decisive;
    }
    return !decisive;
  };
}

type Resolve = (facts: ConditionFacts) => unknown;

function compileFactRead(fact: unknown, path: unknown, at: string, params?: unknown): Resolve {
  if (!isConditionFact(fact)) {
    throw new TypeError(`${at}/fact: unknown fact ${JSON.stringify(fact)}; use ${factList()}`);
  }
  const name = fact as keyof ConditionFacts;
  const getFact = name === 'activity'
    ? (facts: ConditionFacts): unknown => {
      // A dynamic fact, computed from its params (json-rules-engine's `almanac.factValue(id, params)`).
      if (typeof facts.activity !== 'function') throw new Error('Undefined fact: activity');
      return facts.activity((params ?? {}) as Record<string, unknown>);
    }
    : (facts: ConditionFacts): unknown => {
      // json-rules-engine rejects a fact that was not supplied at all (UndefinedFactError).
      if (!(name in facts)) throw new Error(`Undefined fact: ${name}`);
      return facts[name];
    };
  if (!path) return getFact;
  if (typeof path !== 'string') throw new TypeError(`${at}/path: a path must be a string`);
  const reader: PathReader = compilePath(path);
  // json-rules-engine applies a path only to a non-null object; anything else is returned as it is.
  return (facts) => {
    const v = getFact(facts);
    return v !== null && typeof v === 'object' ? reader(v) : v;
  };
}

function compileLeaf(c: Raw, operators: (name: string) => Evaluate | undefined, at: string): Compiled {
  for (const key of ['fact', 'operator', 'value']) {
    if (!Object.hasOwn(c, key)) throw new TypeError(`${at}: a condition needs "${key}"`);
  }
  const opName = String(c.operator);
  const evaluate = operators(opName);
  if (!evaluate) throw new TypeError(`${at}/operator: unknown operator "${opName}"`);
  const left = compileFactRead(c.fact, c.path, at, c.params);
  const value = c.value;
  const isRef = value !== null && typeof value === 'object' && Object.hasOwn(value, 'fact');
  let right: Resolve;
  if (isRef) {
    const ref = value as Raw;
    right = compileFactRead(ref.fact, ref.path, `${at}/value`, ref.params);
  } else {
    right = () => value;
  }
  // What can make json-rules-engine reject: a jsonpath-plus path, a runtime value, a decorated operator
  // (`someValue`, `swap`: callbacks over either side), `in`/`notIn` over anything but a literal list (a string's
  // indexOf converts the fact to a string), and the number comparisons, whose validator converts the fact with
  // parseFloat: both throw on an object like {"toString": 1} (TypeError: Cannot convert object to primitive value).
  const pathFallback = [c.path, isRef ? (value as Raw).path : undefined].some((p) => typeof p === 'string' && p !== '' && !isSimplePath(p));
  // A computed fact (one that takes params, such as `activity`) may be missing or fail: json-rules-engine rejects.
  const computed = isConditionFact(c.fact) && CONDITION_FACTS[c.fact].takesParams;
  const mayThrow =
    pathFallback ||
    computed ||
    isRef ||
    opName.includes(':') ||
    COMPARISONS.has(opName) ||
    ((opName === 'in' || opName === 'notIn') && !Array.isArray(value));
  return { evaluate: (facts) => evaluate(left(facts), right(facts)), mayThrow, priority: priorityOf(c) };
}
