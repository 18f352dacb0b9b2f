import { CronExpressionParser } from 'cron-parser';
import type { JsonSchema, NodeTypeSpec } from '../contracts/flow.ts';
import { CAIRN_WIDGET } from '../contracts/node-catalog.ts';
import { checkCondition } from '../rules/check.ts';
import { isTooLongDuration, isValidDuration, isValidTimezone, MAX_DURATION_YEARS, parseTimeOfDay } from '../time/duration.ts';
import { escapePointer, type Problems, show } from '../contracts/problems.ts';
import { addAjvErrors, validatorFor } from './problems.ts';
import { checkTemplate, hasLiquid } from './templates.ts';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks one node's config against its type: the JSON Schema (ajv), then what a schema cannot say — the
 * `x-cairn-widget` values (conditions, durations, cron, timezones, times), Liquid in every string, and
 * the per-type rules below.
 */
export function checkNodeConfig(problems: Problems, spec: NodeTypeSpec, config: Obj, base: string, nodeId: string): void {
  let validate;
  try {
    validate = validatorFor(spec.config_schema);
  } catch (err) {
    problems.add(`${base}`, `cannot be checked: node type "${spec.type}" has an invalid config schema (${(err as Error).message})`, nodeId);
    return;
  }
  // `delay.mode` defaults to `duration`; the discriminator needs it spelled out.
  const subject = spec.type === 'delay' && !Object.hasOwn(config, 'mode') ? { mode: 'duration', ...config } : config;
  if (!validate(subject)) addAjvErrors(problems, spec.external ? validate.errors?.filter((e) => !isTemplateAt(subject, e.instancePath)) : validate.errors, base, nodeId);
  walk(problems, spec.config_schema, config, base, nodeId);
  typeRules[spec.type]?.(config, (path, text) => problems.add(`${base}${path}`, text, nodeId));
}

/**
 * A plugin prop may hold a Liquid template where the schema declares a number, integer or boolean: the rendered text
 * is coerced to that type and validated before each call (plugins/manifest.ts), so its schema errors wait until then.
 */
function isTemplateAt(value: unknown, pointer: string): boolean {
  let v = value;
  for (const part of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return false;
    v = (v as Obj)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return typeof v === 'string' && hasLiquid(v);
}

/** The schema of `key` inside an object schema, looking through `oneOf`/`anyOf` branches. */
function propertySchema(schema: JsonSchema | undefined, key: string): JsonSchema | undefined {
  if (!schema) return undefined;
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props?.[key]) return props[key];
  for (const branch of [...((schema.oneOf as JsonSchema[]) ?? []), ...((schema.anyOf as JsonSchema[]) ?? [])]) {
    const hit = propertySchema(branch, key);
    if (hit) return hit;
  }
  return isObject(schema.additionalProperties) ? (schema.additionalProperties as JsonSchema) : undefined;
}

function walk(problems: Problems, schema: JsonSchema | undefined, value: unknown, at: string, nodeId: string): void {
  const widget = schema?.[CAIRN_WIDGET];
  if (widget === 'condition') {
    if (value !== undefined) for (const p of checkCondition(value)) problems.add(`${at}${p.path}`, p.message, nodeId);
    return;
  }
  if (typeof value === 'string') {
    const problem = widget ? checkWidget(String(widget), value) : checkTemplate(value);
    if (problem) problems.add(at, problem, nodeId);
    return;
  }
  if (Array.isArray(value)) {
    const items = isObject(schema?.items) ? (schema.items as JsonSchema) : undefined;
    value.forEach((v, i) => walk(problems, items, v, `${at}/${i}`, nodeId));
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) walk(problems, propertySchema(schema, k), v, `${at}/${escapePointer(k)}`, nodeId);
  }
}

function checkWidget(widget: string, value: string): string | undefined {
  if ((widget === 'duration' || widget === 'signed-duration') && isTooLongDuration(value)) {
    return `is longer than ${MAX_DURATION_YEARS} years (${show(value)}); durations are bounded to ${MAX_DURATION_YEARS} years`;
  }
  switch (widget) {
    case 'duration':
      return isValidDuration(value) ? undefined : `must be an ISO 8601 duration such as "P3D" or "PT2H", not ${show(value)}`;
    case 'signed-duration':
      return isValidDuration(value, { signed: true }) ? undefined : `must be an ISO 8601 duration such as "P3D", or "-P30D" for before, not ${show(value)}`;
    case 'time':
      return parseTimeOfDay(value) ? undefined : `must be a time of day "HH:mm" such as "09:00", not ${show(value)}`;
    case 'timezone':
      return isValidTimezone(value) ? undefined : `must be an IANA timezone such as "Europe/Paris" or "UTC", not ${show(value)}`;
    case 'cron':
      return checkCron(value);
    default:
      return checkTemplate(value);
  }
}

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);

function checkCron(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (!CRON_MACROS.has(expr.trim()) && fields.length !== 5) {
    return `must be a five-field cron expression (minute hour day month weekday) such as "0 9 * * 1", not ${show(expr)}`;
  }
  try {
    CronExpressionParser.parse(expr, { currentDate: new Date(0) });
    return undefined;
  } catch (err) {
    return `is not a valid cron expression (${(err as Error).message}); e.g. "0 9 * * 1" is Mondays at 09:00`;
  }
}

type Report = (path: string, text: string) => void;

/** Whether a condition tests anything: some leaf (a `fact`) under its all/any/not groups. */
function hasTest(c: unknown): boolean {
  if (!isObject(c)) return false;
  if (Object.hasOwn(c, 'fact')) return true;
  return ['all', 'any'].some((k) => Array.isArray(c[k]) && (c[k] as unknown[]).some(hasTest)) || hasTest(c.not);
}

/** What each core type needs beyond its schema (kept out of the schema so the generated forms stay plain). */
const typeRules: Record<string, (config: Obj, report: Report) => void> = {
  condition: (c, report) => {
    // json-rules-engine holds an empty "all" true (and an empty "any" false): a branch that ignores the contact.
    if (isObject(c.rule) && !hasTest(c.rule)) report('/rule', 'has no conditions; add at least one (an empty rule would send every contact the same way)');
  },
  'action.tag': (c, report) => {
    const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
    if (count(c.add) + count(c.remove) === 0) report('', 'needs tags in "add" or "remove" (or both)');
  },
  'action.score': (c, report) => {
    const has = ['delta', 'set'].filter((k) => c[k] !== undefined);
    if (has.length !== 1) report('', has.length === 0 ? 'needs "delta" (add to the score) or "set" (replace it)' : 'has both "delta" and "set"; keep exactly one');
  },
  'action.send_email': (c, report) => {
    if (c.html === undefined && c.text === undefined) report('', 'needs a body: "html", "text" or both');
  },
  'action.webhook': (c, report) => {
    if (typeof c.url !== 'string' || hasLiquid(c.url)) return;
    const ok = URL.canParse(c.url) && ['http:', 'https:'].includes(new URL(c.url).protocol);
    if (!ok) report('/url', `must be an http:// or https:// URL such as "https://example.com/hook", not ${show(c.url)}`);
  },
  'action.assign_owner': (c, report) => {
    if (c.strategy === 'territory' && c.territory_property === undefined) {
      report('/territory_property', 'is required when strategy is "territory" (the contact property matched against owner territories, e.g. "country")');
    }
  },
  'action.create_task': (c, report) => {
    if (typeof c.assignee === 'string' && c.assignee !== 'owner' && !hasLiquid(c.assignee) && !/^[^@\s]+@[^@\s]+$/.test(c.assignee)) {
      report('/assignee', `must be "owner" or a user email, not ${show(c.assignee)}`);
    }
  },
  split: (c, report) => {
    if (!Array.isArray(c.branches)) return;
    const seen = new Map<string, number>();
    c.branches.forEach((b, i) => {
      const key = isObject(b) ? b.key : undefined;
      if (typeof key !== 'string') return;
      if (seen.has(key)) report(`/branches/${i}/key`, `repeats the branch key ${show(key)} (also branch ${seen.get(key)}); keys must be unique`);
      else seen.set(key, i);
    });
  },
};
