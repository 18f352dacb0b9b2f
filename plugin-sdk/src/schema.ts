/**
 * JSON Schema as plugin authors write it for `props`, `output` and `auth`, and the TypeScript type of the
 * values it describes. Only the keywords that shape a type are modelled; every other keyword is allowed and
 * checked at run time by the engine (ajv), not by the compiler.
 */

/**
 * A JSON Schema (draft 2020-12 subset that Cairn's forms and validator understand).
 *
 * @example
 * const schema = {
 *   type: 'object',
 *   properties: { channel: { type: 'string' }, text: { type: 'string', minLength: 1 } },
 *   required: ['text'],
 * } as const satisfies JsonSchema;
 */
export interface JsonSchema {
  type?: JsonSchemaType | readonly JsonSchemaType[];
  title?: string;
  description?: string;
  properties?: { readonly [key: string]: JsonSchema };
  required?: readonly string[];
  items?: JsonSchema;
  enum?: readonly JsonValue[];
  const?: JsonValue;
  default?: JsonValue;
  additionalProperties?: boolean | JsonSchema;
  [keyword: string]: unknown;
}

/**
 * The primitive type names of JSON Schema.
 *
 * @example
 * const t: JsonSchemaType = 'string';
 */
export type JsonSchemaType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'array' | 'object';

/**
 * Any value that survives `JSON.stringify` → `JSON.parse` unchanged: the only values that cross the sandbox.
 *
 * @example
 * const v: JsonValue = { ok: true, ids: [1, 2] };
 */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type TypeOfName<N> = N extends 'string'
  ? string
  : N extends 'number' | 'integer'
    ? number
    : N extends 'boolean'
      ? boolean
      : N extends 'null'
        ? null
        : N extends 'array'
          ? unknown[]
          : N extends 'object'
            ? Record<string, unknown>
            : unknown;

type ObjectFrom<P, R> = Simplify<
  { -readonly [K in keyof P & R]: FromSchema<P[K]> } & { -readonly [K in Exclude<keyof P, R>]?: FromSchema<P[K]> }
>;

/**
 * The TypeScript type of values valid against schema `S` (write the schema `as const`, or pass it straight
 * to `defineAction`, whose type parameter is `const`).
 *
 * @example
 * const props = { type: 'object', properties: { to: { type: 'string' }, n: { type: 'integer' } }, required: ['to'] } as const;
 * type Props = FromSchema<typeof props>; // { to: string; n?: number }
 */
export type FromSchema<S> = S extends { const: infer C }
  ? C
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { type: 'array'; items: infer I }
      ? FromSchema<I>[]
      : S extends { type: 'object'; properties: infer P }
        ? ObjectFrom<P, S extends { required: readonly (infer R)[] } ? R : never>
        : S extends { type: infer N }
          ? N extends readonly (infer M)[]
            ? TypeOfName<M>
            : TypeOfName<N>
          : unknown;
