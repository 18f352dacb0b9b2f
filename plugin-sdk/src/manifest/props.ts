import { Ajv, type ValidateFunction } from 'ajv';
import { toProblems, type ManifestProblem } from './rules.ts';

/**
 * How an action's props are prepared before `run`, the same in the engine and in the test harness
 * (`@cairn/plugin-sdk/testing`): strings are coerced to the type a prop declares (`number`, `integer`, `boolean`:
 * a Liquid template always renders to text), the schema's `default`s fill what is missing, then the props are
 * validated against the schema. The engine imports this module, so a plugin's tests see exactly what the engine does.
 */

type Schema = Record<string, unknown>;
type Later = ((value: string) => boolean) | undefined;
// Paths of the strings the current call leaves for later (calls are synchronous, so one set serves them all).
const laterPaths = new Set<string>();

// Defaults are written into the (copied) props; strict off as for every plugin schema (UI keywords are allowed).
const propsAjv = new Ajv({ strict: false, allErrors: true, useDefaults: true, coerceTypes: false });
const validators = new WeakMap<object, ValidateFunction>();

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const typesOf = (schema: Schema | undefined): string[] => (schema ? (Array.isArray(schema.type) ? (schema.type as string[]) : typeof schema.type === 'string' ? [schema.type] : []) : []);
const show = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** A string as the declared primitive type, or undefined when it is not one (or the schema also allows text). */
function coerceString(value: string, types: string[]): { ok: true; value: number | boolean } | { ok: false; want: string } | null {
  if (!types.length || types.includes('string')) return null;
  const text = value.trim();
  if (types.includes('integer') || types.includes('number')) {
    const n = text === '' ? Number.NaN : Number(text);
    if (Number.isFinite(n) && (types.includes('number') || Number.isInteger(n))) return { ok: true, value: n };
  }
  if (types.includes('boolean') && /^(true|false)$/i.test(text)) return { ok: true, value: text.toLowerCase() === 'true' };
  if (types.includes('null') && text === '') return null;
  const want = types.includes('integer') && !types.includes('number') ? 'an integer' : types.includes('number') ? 'a number' : types.includes('boolean') ? 'true or false' : '';
  return want ? { ok: false, want } : null;
}

/** Coerces in place (the caller passes a copy), recording what cannot be coerced; `later` strings are left alone. */
function coerceInto(schema: Schema | undefined, value: unknown, at: string, problems: ManifestProblem[], later: Later): unknown {
  if (!schema) return value;
  if (typeof value === 'string') {
    if (later?.(value)) {
      laterPaths.add(at);
      return value;
    }
    const r = coerceString(value, typesOf(schema));
    if (!r) return value;
    if (r.ok) return r.value;
    problems.push({ path: at, message: `must be ${r.want}; the value ${show(value)} cannot be read as one` });
    return value;
  }
  if (Array.isArray(value) && isObject(schema.items)) return value.map((v, i) => coerceInto(schema.items as Schema, v, `${at}/${i}`, problems, later));
  if (isObject(value) && isObject(schema.properties)) {
    const props = schema.properties as Record<string, Schema>;
    for (const k of Object.keys(value)) if (props[k]) value[k] = coerceInto(props[k], value[k], `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, problems, later);
  }
  return value;
}

/**
 * Prepares an action's props as the engine does before calling `run`: a copy of `props` with strings coerced to
 * the declared `number` / `integer` / `boolean`, schema defaults applied, and validated. `problems` name each prop
 * by its path under `base` (e.g. `/config/amount`); when there are any, do not run the action. `later`: strings to
 * leave unchecked because they only get their value later (the engine's publish-time check passes Liquid templates).
 *
 * @example
 * const { props, problems } = prepareProps({ type: 'object', properties: { amount: { type: 'number' }, currency: { type: 'string', default: 'EUR' } } }, { amount: '12.5' }, '/config');
 * // props: { amount: 12.5, currency: 'EUR' }, problems: []
 */
export function prepareProps(schema: object, props: unknown, base = '', later?: (value: string) => boolean): { props: Record<string, unknown>; problems: ManifestProblem[] } {
  const problems: ManifestProblem[] = [];
  laterPaths.clear();
  const copy = coerceInto(schema as Schema, structuredClone(props), base, problems, later);
  if (!problems.length) {
    let validate = validators.get(schema);
    if (!validate) {
      validate = propsAjv.compile(schema);
      validators.set(schema, validate);
    }
    if (!validate(copy)) problems.push(...toProblems(validate.errors, base).filter((p) => !laterPaths.has(p.path)));
  }
  laterPaths.clear();
  return { props: isObject(copy) ? copy : {}, problems };
}
