import { Ajv, type ErrorObject } from 'ajv';

/**
 * The rules a plugin manifest must follow, shared by `cairn-plugin build` and the engine's `POST /v1/plugins`
 * (the engine imports this module), so a manifest the build accepts is one the engine accepts. One ajv setup
 * for plugin schemas: strict off (authors' schemas carry UI keywords such as `x-cairn-widget`), all errors,
 * no coercion.
 */

/**
 * One problem in a manifest: a JSON Pointer (under the base given to {@link checkManifest}) and a message.
 *
 * @example
 * const p: ManifestProblem = { path: '/manifest/actions/0/key', message: 'must match pattern "^[a-z][a-z0-9_]{0,62}$"' };
 */
export interface ManifestProblem {
  path: string;
  message: string;
}

const SNAKE = '^[a-z][a-z0-9_]{0,62}$';
const HTTP_URL = '^https?://[^\\s/?#]+[^\\s]*$';

/**
 * Semantic versions as the engine orders them: `MAJOR.MINOR.PATCH` with an optional `-prerelease`.
 *
 * @example
 * SEMVER_RE.test('1.2.0-beta.1'); // true
 */
export const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$/;

/**
 * The JSON Schema of a manifest's shape (the engine also publishes it in its OpenAPI document).
 *
 * @example
 * const validate = pluginAjv.compile(manifestSchema);
 */
export const manifestSchema = {
  type: 'object',
  required: ['id', 'name', 'version', 'description', 'allowedHosts', 'actions'],
  properties: {
    id: { type: 'string', pattern: SNAKE },
    name: { type: 'string', minLength: 1, maxLength: 100 },
    version: { type: 'string', pattern: SEMVER_RE.source },
    description: { type: 'string', maxLength: 2000 },
    allowedHosts: {
      type: 'array',
      maxItems: 50,
      items: { type: 'string', pattern: '^(\\*\\.)?[A-Za-z0-9.-]+(:\\d{1,5})?$|^\\[[0-9a-fA-F:]+\\](:\\d{1,5})?$' },
    },
    auth: {
      type: ['object', 'null'],
      required: ['type', 'properties'],
      properties: {
        type: { const: 'object' },
        properties: { type: 'object', additionalProperties: { type: 'object', required: ['type'], properties: { type: { const: 'string' } } } },
      },
    },
    authMethod: {
      type: ['object', 'null'],
      required: ['kind', 'test', 'oauth2'],
      properties: {
        kind: { enum: ['api_key', 'basic', 'oauth2'] },
        test: { type: 'boolean' },
        oauth2: {
          type: ['object', 'null'],
          required: ['authorizeUrl', 'tokenUrl', 'scopes'],
          properties: {
            authorizeUrl: { type: 'string', pattern: HTTP_URL, maxLength: 2000 },
            tokenUrl: { type: 'string', pattern: HTTP_URL, maxLength: 2000 },
            revokeUrl: { type: ['string', 'null'], pattern: HTTP_URL, maxLength: 2000 },
            scopes: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 200 } },
            pkce: { type: 'boolean' },
            clientAuth: { enum: ['body', 'basic'] },
            scopeSeparator: { type: 'string', maxLength: 5 },
            authorizeParams: { type: 'object', additionalProperties: { type: 'string' } },
          },
        },
      },
    },
    actions: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        required: ['key', 'title', 'props'],
        properties: {
          key: { type: 'string', pattern: SNAKE },
          title: { type: 'string', minLength: 1, maxLength: 200 },
          description: { type: 'string', maxLength: 2000 },
          props: { type: 'object', required: ['type'], properties: { type: { const: 'object' } } },
          output: { type: ['object', 'null'] },
          timeoutMs: { type: ['integer', 'null'], minimum: 100, maximum: 600_000 },
        },
      },
    },
    triggers: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        required: ['key', 'title'],
        properties: {
          key: { type: 'string', pattern: SNAKE },
          title: { type: 'string' },
          description: { type: 'string' },
          type: { enum: ['webhook', 'polling'] },
          intervalSeconds: { type: ['integer', 'null'], minimum: 1, maximum: 86_400 },
          subscribe: { type: 'boolean' },
          challenge: {
            type: ['object', 'null'],
            required: ['method'],
            properties: {
              method: { enum: ['GET', 'POST'] },
              param: { type: 'string', minLength: 1, maxLength: 100 },
              field: { type: 'string', minLength: 1, maxLength: 100 },
              match: { type: 'object', additionalProperties: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;

/**
 * The ajv instance plugin schemas are compiled with (props, output, auth), in the build and in the engine.
 *
 * @example
 * const validate = pluginAjv.compile({ type: 'object', properties: { text: { type: 'string' } } });
 */
export const pluginAjv = new Ajv({ strict: false, allErrors: true, coerceTypes: false });
const validateManifestShape = pluginAjv.compile(manifestSchema);

/**
 * ajv errors as problems whose paths point into the document under `base`.
 *
 * @example
 * if (!validate(value)) problems.push(...toProblems(validate.errors, '/config'));
 */
export function toProblems(errors: ErrorObject[] | null | undefined, base: string): ManifestProblem[] {
  return (errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : '';
    return { path: `${base}${e.instancePath}${missing}`, message: e.message ?? 'is not valid' };
  });
}

interface ManifestActions {
  actions: { key: string; props: object; output?: object | null }[];
}

/**
 * Checks the shape of a manifest, that action keys are unique and that every props/output schema compiles.
 * An empty list means the engine will accept the manifest.
 *
 * @example
 * const problems = checkManifest(JSON.parse(readFileSync('dist/manifest.json', 'utf8')), '');
 * if (problems.length) console.error(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
 */
export function checkManifest(raw: unknown, base = '/manifest'): ManifestProblem[] {
  if (!validateManifestShape(raw)) return toProblems(validateManifestShape.errors, base);
  const m = raw as ManifestActions;
  const problems: ManifestProblem[] = [];
  const keys = new Set<string>();
  m.actions.forEach((a, i) => {
    if (keys.has(a.key)) problems.push({ path: `${base}/actions/${i}/key`, message: `action key "${a.key}" is used twice` });
    keys.add(a.key);
    for (const part of ['props', 'output'] as const) {
      const schema = a[part];
      if (!schema) continue;
      try {
        pluginAjv.compile(schema);
      } catch (err) {
        problems.push({ path: `${base}/actions/${i}/${part}`, message: `is not a valid JSON Schema: ${(err as Error).message}` });
      }
    }
  });
  return problems;
}

// How action props are coerced, defaulted and validated before `run` (engine and test harness alike).
export { prepareProps } from './props.ts';
