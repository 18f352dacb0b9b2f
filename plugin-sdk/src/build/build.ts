import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Plugin as EsbuildPlugin } from 'esbuild';
import { MAX_SOURCE_MAP_BYTES, PluginIsolate, type PluginManifest } from '../host/index.ts';

/**
 * Bundles a plugin into one script for the sandbox and reads its manifest by loading that very script in
 * the sandbox (so `manifest.json` describes exactly what will run). Imports that cannot work in the sandbox
 * are refused at build time with a hint naming the replacement, as Temporal's bundler does for workflows.
 */

export const BUNDLE_GLOBAL = '__cairn_plugin';

const HINTS: [RegExp, string][] = [
  [/^(http|https|http2|net|tls|dgram|dns|undici|node-fetch|axios|got|cross-fetch)$/, 'use ctx.http.fetch (host-bridged, limited to allowedHosts) instead'],
  [/^(fs|fs\/promises|path|os)$/, 'plugins have no file system; keep small state in ctx.store'],
  [/^crypto$/, 'use the global crypto (crypto.subtle digest and HMAC, crypto.randomUUID) or hmacSha256Hex / sha256Hex from @cairn/plugin-sdk instead'],
  [/^buffer$/, 'use the globals TextEncoder / TextDecoder / btoa / atob, or base64Encode / basicAuth from @cairn/plugin-sdk'],
  [/^(timers|timers\/promises)$/, 'there are no timers in the sandbox; return and let the flow wait with a delay node'],
  [/^(child_process|worker_threads|cluster|vm|process|module|v8|inspector)$/, 'not available in the sandbox'],
];

function hintFor(spec: string): string | null {
  const bare = spec.replace(/^node:/, '');
  if (spec.startsWith('node:') || builtinModules.includes(bare) || HINTS.some(([re]) => re.test(bare))) {
    return HINTS.find(([re]) => re.test(bare))?.[1] ?? 'Node built-ins are not available in the sandbox; use ctx (http, store, log, secrets)';
  }
  if (/^@cairn\/plugin-sdk\/(host|testing|build|cli)/.test(spec)) return 'import only "@cairn/plugin-sdk" from plugin code; /testing belongs in tests';
  if (/^(@cairn\/engine|isolated-vm)/.test(spec)) return 'plugins import only "@cairn/plugin-sdk"';
  return null;
}

const forbidImports: EsbuildPlugin = {
  name: 'cairn-forbid-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const hint = hintFor(args.path);
      return hint ? { errors: [{ text: `"${args.path}" cannot be used in a Cairn plugin: ${hint}` }] } : undefined;
    });
  },
};

export interface BuiltPlugin {
  bundle: string;
  /** The bundle's source map (version 3, sources relative to the plugin directory, no sources content). */
  sourceMap: string;
  manifest: PluginManifest;
  sha256: string;
}

export class PluginBuildError extends Error {
  override name = 'PluginBuildError';
}

/** The directory of the nearest package.json above the entry (the plugin's directory), else the entry's. */
function pluginRoot(entry: string): string {
  for (let dir = path.dirname(path.resolve(entry)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.dirname(path.resolve(entry));
  }
}

/**
 * Bundles `entry`; the source map's paths are relative to `root` (default: the plugin's directory), so a failing
 * step's stack names `src/actions/x.ts:12:5`.
 */
export async function buildPlugin(entry: string, opts: { root?: string } = {}): Promise<BuiltPlugin> {
  const root = path.resolve(opts.root ?? pluginRoot(entry));
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      outfile: path.join(root, 'plugin.js'),
      sourcemap: 'external',
      sourcesContent: false,
      bundle: true,
      write: false,
      format: 'iife',
      globalName: BUNDLE_GLOBAL,
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2022',
      minify: false,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [forbidImports],
    });
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const lines = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text));
    throw new PluginBuildError(lines.join('\n') || (err as Error).message, { cause: err });
  }
  const bundle = result.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const sourceMap = result.outputFiles.find((f) => f.path.endsWith('.js.map'))!.text;
  if (sourceMap.length > MAX_SOURCE_MAP_BYTES) throw new PluginBuildError(`the source map is larger than ${MAX_SOURCE_MAP_BYTES} bytes`);
  const isolate = await PluginIsolate.load(bundle, { memoryLimitMb: 64, cpuTimeMs: 1000, wallTimeMs: 5000 }, {
    store: { get: async () => undefined, set: async () => {}, delete: async () => {} },
    log: () => {},
    fetch: { privateHosts: [], timeoutMs: 1, maxResponseBytes: 0, maxRedirects: 0 },
  });
  const manifest = isolate.manifest;
  isolate.dispose();
  return { bundle, sourceMap, manifest, sha256: createHash('sha256').update(bundle).digest('hex') };
}
