import { Operator, type Engine } from 'json-rules-engine';
import { createSystemClock } from '../time/clock.ts';
import { parseDuration } from '../time/duration.ts';
import { compileRegex } from './regex.ts';

/**
 * Operators, shared by our compiled evaluator and by json-rules-engine itself (`registerCustomOperators`), so
 * both evaluate every operator with the very same functions. An operator is json-rules-engine's pair: a fact
 * value validator, then the callback — `evaluate(a, b) = validator(a) && cb(a, b)`.
 */
export interface OperatorDef {
  name: string;
  cb: (factValue: unknown, value: unknown) => boolean;
  validator?: (factValue: unknown) => boolean;
}

export interface DecoratorDef {
  name: string;
  cb: (factValue: unknown, value: unknown, next: (a: unknown, b: unknown) => boolean) => boolean;
  validator?: (factValue: unknown) => boolean;
}

export type Evaluate = (factValue: unknown, value: unknown) => boolean;

/** Where custom operators read the time (`withinLast`): the engine's clock, never the wall clock directly. */
export interface NowSource {
  now(): Date;
}

/* json-rules-engine 7's built-ins, with their exact semantics (engine-default-operators.js). */
type Indexable = { indexOf(x: unknown): number };
const numberValidator = (factValue: unknown): boolean => Number.parseFloat(factValue as string).toString() !== 'NaN';
const isArray = (v: unknown): boolean => Array.isArray(v);

export const builtinOperators: readonly OperatorDef[] = [
  { name: 'equal', cb: (a, b) => a === b },
  { name: 'notEqual', cb: (a, b) => a !== b },
  { name: 'in', cb: (a, b) => (b as Indexable).indexOf(a) > -1 },
  { name: 'notIn', cb: (a, b) => (b as Indexable).indexOf(a) === -1 },
  { name: 'contains', cb: (a, b) => (a as Indexable).indexOf(b) > -1, validator: isArray },
  { name: 'doesNotContain', cb: (a, b) => (a as Indexable).indexOf(b) === -1, validator: isArray },
  { name: 'lessThan', cb: (a, b) => (a as number) < (b as number), validator: numberValidator },
  { name: 'lessThanInclusive', cb: (a, b) => (a as number) <= (b as number), validator: numberValidator },
  { name: 'greaterThan', cb: (a, b) => (a as number) > (b as number), validator: numberValidator },
  { name: 'greaterThanInclusive', cb: (a, b) => (a as number) >= (b as number), validator: numberValidator },
];

export const builtinDecorators: readonly DecoratorDef[] = [
  { name: 'someFact', cb: (a, b, next) => (a as unknown[]).some((fv) => next(fv, b)), validator: isArray },
  { name: 'someValue', cb: (a, b, next) => (b as unknown[]).some((jv) => next(a, jv)) },
  { name: 'everyFact', cb: (a, b, next) => (a as unknown[]).every((fv) => next(fv, b)), validator: isArray },
  { name: 'everyValue', cb: (a, b, next) => (b as unknown[]).every((jv) => next(a, jv)) },
  { name: 'swap', cb: (a, b, next) => next(b, a) },
  { name: 'not', cb: (a, b, next) => !next(a, b) },
];

const isString = (v: unknown): v is string => typeof v === 'string';

/** A date as json-rules-engine facts carry it: an RFC 3339 string, epoch milliseconds or a Date. */
function toEpochMs(v: unknown): number | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime();
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.length > 0) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * `now - duration` in UTC calendar terms. Luxon's calendar math costs microseconds, and a batch of evaluations
 * shares one `now`, so the last cutoff per duration is remembered.
 */
function createCutoff(): (now: Date, value: unknown) => number | undefined {
  const last = new Map<string, { nowMs: number; cutoffMs: number }>();
  return (now, value) => {
    if (!isString(value)) return undefined;
    const nowMs = now.getTime();
    const hit = last.get(value);
    if (hit && hit.nowMs === nowMs) return hit.cutoffMs;
    const d = parseDuration(value);
    if (!d || d.negative) return undefined;
    const cutoffMs = d.subtractFrom(now, 'UTC').getTime();
    if (last.size > 100) last.clear();
    last.set(value, { nowMs, cutoffMs });
    return cutoffMs;
  };
}

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function tagsOf(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object' && Array.isArray((v as { tags?: unknown }).tags)) return (v as { tags: unknown[] }).tags;
  return undefined;
}

/**
 * Cairn's custom operators (documented in docs/flows.md). None of them throws: a value of the wrong type
 * simply does not match.
 */
export function customOperators(clock: NowSource): OperatorDef[] {
  const cutoff = createCutoff();
  return [
    { name: 'startsWith', cb: (a, b) => isString(a) && isString(b) && a.startsWith(b) },
    { name: 'endsWith', cb: (a, b) => isString(a) && isString(b) && a.endsWith(b) },
    {
      name: 'matches',
      cb: (a, b) => {
        if (!isString(a) || !isString(b)) return false;
        try {
          return compileRegex(b).test(a);
        } catch {
          return false;
        }
      },
    },
    { name: 'exists', cb: (a) => a !== undefined && a !== null },
    { name: 'notExists', cb: (a) => a === undefined || a === null },
    { name: 'isEmpty', cb: (a) => isEmptyValue(a) },
    { name: 'isNotEmpty', cb: (a) => !isEmptyValue(a) },
    {
      name: 'withinLast',
      cb: (a, b) => {
        const at = toEpochMs(a);
        const now = clock.now();
        const from = cutoff(now, b);
        return at !== undefined && from !== undefined && at >= from && at <= now.getTime();
      },
    },
    {
      name: 'notWithinLast',
      cb: (a, b) => {
        const from = cutoff(clock.now(), b);
        if (from === undefined) return false;
        // A missing time counts as never (CONTRACT.md, behavioural facts): "no order in 30 days" holds with no order.
        if (a === undefined || a === null) return true;
        const at = toEpochMs(a);
        return at !== undefined && at < from;
      },
    },
    {
      // `before` / `after` a duration ago: unlike notWithinLast, a missing time matches neither (it is not a time).
      name: 'before',
      cb: (a, b) => {
        const at = toEpochMs(a);
        const from = cutoff(clock.now(), b);
        return at !== undefined && from !== undefined && at < from;
      },
    },
    {
      name: 'after',
      cb: (a, b) => {
        const at = toEpochMs(a);
        const from = cutoff(clock.now(), b);
        return at !== undefined && from !== undefined && at > from;
      },
    },
    { name: 'hasTag', cb: (a, b) => tagsOf(a)?.includes(b) ?? false },
    { name: 'notHasTag', cb: (a, b) => !(tagsOf(a)?.includes(b) ?? false) },
  ];
}

export const CUSTOM_OPERATOR_NAMES: readonly string[] = customOperators({ now: () => new Date(0) }).map((o) => o.name);
export const BUILTIN_OPERATOR_NAMES: readonly string[] = builtinOperators.map((o) => o.name);
export const DECORATOR_NAMES: readonly string[] = builtinDecorators.map((d) => d.name);

/**
 * Adds Cairn's custom operators to a json-rules-engine Engine (validation, the W4 comparison, tests).
 * `clock` is where `withinLast` reads the time: pass the engine's clock.
 */
export function registerCustomOperators(engine: Engine, clock: NowSource = createSystemClock()): Engine {
  for (const op of customOperators(clock)) engine.addOperator(new Operator(op.name, op.cb, op.validator));
  return engine;
}

const toEvaluate = (op: OperatorDef): Evaluate => {
  const { cb, validator } = op;
  return validator ? (a, b) => validator(a) && cb(a, b) : cb;
};

/** An operator table resolving decorated names (`not:startsWith`) the way json-rules-engine's OperatorMap does. */
export function createOperatorTable(clock: NowSource): (name: string) => Evaluate | undefined {
  const ops = new Map<string, Evaluate>();
  for (const op of [...builtinOperators, ...customOperators(clock)]) ops.set(op.name, toEvaluate(op));
  const decorators = new Map(builtinDecorators.map((d) => [d.name, d]));
  return (name) => {
    let opName = name;
    const chain: DecoratorDef[] = [];
    while (!ops.has(opName)) {
      const i = opName.indexOf(':');
      if (i <= 0) return undefined;
      const dec = decorators.get(opName.slice(0, i));
      if (!dec) return undefined;
      chain.unshift(dec);
      opName = opName.slice(i + 1);
    }
    let evaluate = ops.get(opName)!;
    for (const dec of chain) {
      const next = evaluate;
      const { cb, validator } = dec;
      evaluate = validator ? (a, b) => validator(a) && cb(a, b, next) : (a, b) => cb(a, b, next);
    }
    return evaluate;
  };
}

/** Whether `name` (possibly decorated) is an operator we accept. */
export function isKnownOperator(name: string): boolean {
  return knownTable(name) !== undefined;
}
const knownTable = createOperatorTable({ now: () => new Date(0) });
