import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { ProblemItem } from '../errors.ts';
import { sharedSchemas } from './schemas.ts';

// ajv-formats is CommonJS with `exports.default`; under ESM interop the default import may be either shape.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

/**
 * Two ajv instances, one setup: bodies are validated exactly as sent (no coercion, unknown properties are
 * errors, all errors reported), querystrings and path params are coerced ("50" → 50) since they arrive as text.
 */
function createAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    // Errors carry their schema, so an `anyOf` with an `x-cairn-message` is reported as that one sentence.
    verbose: true,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
  });
  addFormats(ajv);
  // Routes refer to the shared schemas by $id ({ $ref: 'Contact#' }), as the serializer and the document do.
  for (const schema of sharedSchemas) ajv.addSchema(schema);
  return ajv;
}

const bodyAjv = createAjv(false);
const textAjv = createAjv(true);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const fn: ValidateFunction = (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
  return fn as never;
};

/** The `x-cairn-message` of an anyOf error's schema: the rule in words, for a caller who broke it. */
const statedRule = (e: ErrorObject): string | undefined => {
  const message = e.keyword === 'anyOf' ? (e.parentSchema as Record<string, unknown> | undefined)?.['x-cairn-message'] : undefined;
  return typeof message === 'string' ? message : undefined;
};

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** Largest number of items in one problem's `errors` (a 1,000-event batch could otherwise answer megabytes). */
const MAX_ITEMS = 100;

/** ajv errors → problem items whose `path` is a JSON Pointer to the offending value (or the missing/unknown key). */
export function ajvToProblemItems(errors: ErrorObject[], part: string | undefined): ProblemItem[] {
  const items: ProblemItem[] = [];
  const seen = new Set<string>();
  // An `anyOf` that states its rule in prose (a contact needs external_id or email) replaces its branches' errors.
  const stated = errors.filter((e) => e.keyword === 'anyOf' && typeof statedRule(e) === 'string');
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && stated.some((a) => a.instancePath === e.instancePath && e.schemaPath.startsWith(`${a.schemaPath}/`))) continue;
    let path = e.instancePath;
    let message = statedRule(e) ?? e.message ?? 'is not valid';
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required') {
      path += `/${escapePointer(String(params.missingProperty))}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path += `/${escapePointer(String(params.additionalProperty))}`;
      message = 'is not an allowed property';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'format') {
      message = `must be a valid ${String(params.format)}`;
    }
    if (part && part !== 'body') message = `${part === 'querystring' ? 'query parameter' : part} ${path.slice(1) || ''} ${message}`.replace(/\s+/g, ' ');
    const id = `${path}\u0000${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    items.push({ path, message });
    if (items.length >= MAX_ITEMS) break;
  }
  return items;
}
