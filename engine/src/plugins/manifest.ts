import type { ProblemItem } from '../errors.ts';
import type { PluginManifest } from '@cairn/plugin-sdk/host';
import { checkManifest as checkManifestRules, manifestSchema, pluginAjv, prepareProps, SEMVER_RE, toProblems } from '@cairn/plugin-sdk/manifest';
import { canonicalJson } from '../canonical-json.ts';

/**
 * What `POST /v1/plugins` accepts as `manifest` (what `cairn-plugin build` writes to manifest.json), and the
 * validator of action props. The manifest rules and the ajv setup live in `@cairn/plugin-sdk/manifest` so
 * that `cairn-plugin build` refuses exactly what this engine refuses.
 */

export type { PluginManifest };
export { manifestSchema, pluginAjv, SEMVER_RE, toProblems };

/** The SDK's manifest rules (the same ones `cairn-plugin build` applies), with the engine's problem type. */
export function checkManifest(raw: unknown, base = '/manifest'): ProblemItem[] {
  return checkManifestRules(raw, base);
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

/**
 * An action's props as the plugin receives them: coerced to the declared types, schema defaults applied, validated
 * (`prepareProps` of the SDK, which the test harness uses too). `later`: strings not checked yet (publish passes
 * Liquid templates, which are checked after rendering, before each call).
 */
export function prepareActionProps(manifest: PluginManifest, key: string, props: unknown, base: string, later?: (value: string) => boolean): { props: Record<string, unknown>; problems: ProblemItem[] } {
  const action = manifest.actions.find((a) => a.key === key);
  if (!action) return { props: {}, problems: [{ path: base, message: `plugin ${manifest.id}@${manifest.version} has no action "${key}"` }] };
  return prepareProps(action.props, props, base, later);
}

/** The publish-time check of a node's props: what `prepareActionProps` refuses, templates left for the call. */
export function checkProps(manifest: PluginManifest, key: string, props: unknown, base: string, later?: (value: string) => boolean): ProblemItem[] {
  return prepareActionProps(manifest, key, props, base, later).problems;
}

/** The node config minus what the engine itself interprets (`retry`): what the plugin receives as props. */
export function propsOf(config: Record<string, unknown>): Record<string, unknown> {
  const { retry: _retry, ...props } = config;
  return props;
}


/** Same declaration in the uploaded manifest and in the bundle (the sandbox reads the latter). */
export function sameDeclaration(a: PluginManifest, b: PluginManifest): boolean {
  const pick = (m: PluginManifest) =>
    canonicalJson([m.id, m.name, m.version, m.description, m.allowedHosts, m.auth ?? null, m.actions.map((x) => [x.key, x.title, x.description ?? '', x.props, x.output ?? null, x.timeoutMs ?? null]), (m.triggers ?? []).map((t) => [t.key, t.type ?? 'webhook', t.intervalSeconds ?? null, t.subscribe ?? false, t.challenge ?? null]), m.authMethod ?? null]);
  return pick(a) === pick(b);
}
