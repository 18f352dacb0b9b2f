import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { escapePointer, Problems, show } from '../contracts/problems.ts';
import { CAIRN_WIDGET } from '../contracts/node-catalog.ts';

/**
 * The validator's one ajv instance. `allErrors` because a document's author wants every problem at once;
 * `verbose` so messages can quote the offending value and the field's description; plugin schemas may be
 * loose, hence not strict (the core catalog is compiled strictly in its own test).
 */
export const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, discriminator: true, logger: false });
addFormats.default(ajv);
ajv.addVocabulary([CAIRN_WIDGET]);

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${show(v)}`);

function describe(schema: unknown): string {
  const d = (schema as { description?: unknown } | undefined)?.description;
  return typeof d === 'string' ? ` (${d.replace(/\.$/, '')})` : '';
}

/** Turns ajv errors into problems under `base` (a pointer), with messages that name the value and the fix. */
export function addAjvErrors(problems: Problems, errors: ErrorObject[] | null | undefined, base: string, nodeId?: string): void {
  if (!errors) return;
  // A failed anyOf (e.g. goal: null or object) repeats its branches' errors; keep the branch errors only.
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const path = `${base}${e.instancePath}`;
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required': {
        const missing = String(p.missingProperty);
        const propSchema = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties?.[missing];
        problems.add(`${path}/${escapePointer(missing)}`, `is required${describe(propSchema)}`, nodeId);
        break;
      }
      case 'additionalProperties': {
        const extra = String(p.additionalProperty);
        const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        problems.add(`${path}/${escapePointer(extra)}`, `is not a known field${allowed.length ? `; allowed: ${allowed.join(', ')}` : ''}`, nodeId);
        break;
      }
      case 'type':
        if (isNullBranchOfAnyOf(e)) break;
        problems.add(path, `must be ${article(String(p.type))}, not ${typeName(e.data)}`, nodeId);
        break;
      case 'enum':
        problems.add(path, `must be one of ${(p.allowedValues as unknown[]).map((v) => show(v)).join(', ')}, not ${show(e.data)}`, nodeId);
        break;
      case 'const':
        problems.add(path, `must be ${show(p.allowedValue)}, not ${show(e.data)}`, nodeId);
        break;
      case 'minLength':
        problems.add(path, p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`, nodeId);
        break;
      case 'maxLength':
        problems.add(path, `is too long (${String((e.data as string).length)} characters; at most ${String(p.limit)})`, nodeId);
        break;
      case 'maxItems':
        problems.add(path, `has too many items (${String((e.data as unknown[]).length)}; at most ${String(p.limit)})`, nodeId);
        break;
      case 'minItems':
        problems.add(path, `needs at least ${String(p.limit)} items, has ${String((e.data as unknown[]).length)}`, nodeId);
        break;
      case 'minProperties':
        problems.add(path, `must not be empty${describe(e.parentSchema)}`, nodeId);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        problems.add(path, `must be ${String(p.comparison)} ${String(p.limit)}, not ${show(e.data)}`, nodeId);
        break;
      case 'pattern':
        problems.add(path, `${show(e.data)} may only use letters, digits, "_", "-" and "." (and start with a letter or digit)`, nodeId);
        break;
      case 'uniqueItems':
        problems.add(path, `must not repeat items (items ${String(p.j)} and ${String(p.i)} are equal)`, nodeId);
        break;
      case 'discriminator':
        problems.add(`${path}/${String(p.tag)}`, `must be one of the modes ${modes(e.parentSchema)}, not ${show(p.tagValue)}`, nodeId);
        break;
      default:
        problems.add(path, `${e.message ?? 'is invalid'}`, nodeId);
    }
  }
}

/** `goal: null | {...}`: a type error on the null branch is noise when the object branch reports the real issue. */
function isNullBranchOfAnyOf(e: ErrorObject): boolean {
  return (e.params as { type?: unknown }).type === 'null' && /\/anyOf\/\d+\/type$/.test(e.schemaPath);
}

function modes(schema: unknown): string {
  const branches = (schema as { oneOf?: { properties?: { mode?: { const?: unknown } } }[] } | undefined)?.oneOf ?? [];
  return branches.map((b) => show(b.properties?.mode?.const)).join(', ');
}

function article(type: string): string {
  const names = type.split(',').map((t) => ({ object: 'an object', array: 'a list', integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', null: 'null' })[t] ?? t);
  return names.join(' or ');
}

const compiled = new WeakMap<object, ValidateFunction>();

/** Compiles (once per schema object) with the shared instance. Throws on a schema ajv cannot compile. */
export function validatorFor(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}
