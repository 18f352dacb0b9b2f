import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ProblemItem } from '../errors.ts';
import type { PluginManifest } from '@cairn/plugin-sdk/host';
import { canonicalJson } from '../canonical-json.ts';

/**
 * What `POST /v1/plugins` accepts as `manifest` (what `cairn-plugin build` writes to manifest.json), and the
 * validator of action props. One ajv setup for plugin schemas: strict off (authors' schemas carry UI
 * keywords such as `x-cairn-widget`), all errors, no coercion.
 */

export type { PluginManifest };

const SNAKE = '^[a-z][a-z0-9_]{0,62}$';
export const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$/;

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
      items: { type: 'object', required: ['key', 'title'], properties: { key: { type: 'string', pattern: SNAKE }, title: { type: 'string' }, description: { type: 'string' } } },
    },
  },
} as const;

export const pluginAjv = new Ajv({ strict: false, allErrors: true, coerceTypes: false });
const validateManifestShape = pluginAjv.compile(manifestSchema);

export function toProblems(errors: ErrorObject[] | null | undefined, base: string): ProblemItem[] {
  return (errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : '';
    return { path: `${base}${e.instancePath}${missing}`, message: e.message ?? 'is not valid' };
  });
}

/** Shape of the manifest, then that every props/output/auth schema compiles. Problems point into the request body. */
export function checkManifest(raw: unknown, base = '/manifest'): ProblemItem[] {
  if (!validateManifestShape(raw)) return toProblems(validateManifestShape.errors, base);
  const m = raw as PluginManifest;
  const problems: ProblemItem[] = [];
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

export interface ParsedVersion {
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
}

export function parseSemver(v: string): ParsedVersion | null {
  const m = SEMVER_RE.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ?? '' } : null;
}

/** Semver order (a pre-release sorts before its release; pre-release identifiers compared as text). */
export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a)!;
  const y = parseSemver(b)!;
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch || (x.prerelease === y.prerelease ? 0 : x.prerelease === '' ? 1 : y.prerelease === '' ? -1 : x.prerelease < y.prerelease ? -1 : 1);
}

const validators = new Map<string, ValidateFunction>();

/** Validates an action's config against its props schema (compiled once per plugin version and action). */
export function checkProps(manifest: PluginManifest, key: string, props: unknown, base: string): ProblemItem[] {
  const action = manifest.actions.find((a) => a.key === key);
  if (!action) return [{ path: base, message: `plugin ${manifest.id}@${manifest.version} has no action "${key}"` }];
  const cacheKey = `${manifest.id}@${manifest.version}/${key}`;
  let validate = validators.get(cacheKey);
  if (!validate) {
    validate = pluginAjv.compile(action.props);
    validators.set(cacheKey, validate);
  }
  return validate(props) ? [] : toProblems(validate.errors, base);
}

/** The node config minus what the engine itself interprets (`retry`): what the plugin receives as props. */
export function propsOf(config: Record<string, unknown>): Record<string, unknown> {
  const { retry: _retry, ...props } = config;
  return props;
}


/** Same declaration in the uploaded manifest and in the bundle (the sandbox reads the latter). */
export function sameDeclaration(a: PluginManifest, b: PluginManifest): boolean {
  const pick = (m: PluginManifest) =>
    canonicalJson([m.id, m.name, m.version, m.description, m.allowedHosts, m.auth ?? null, m.actions.map((x) => [x.key, x.title, x.description ?? '', x.props, x.output ?? null, x.timeoutMs ?? null]), (m.triggers ?? []).map((t) => t.key)]);
  return pick(a) === pick(b);
}
