import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';

/**
 * Stack traces of plugin failures, mapped from the bundle the sandbox ran back to the plugin's TypeScript source
 * through the source map `cairn-plugin build` writes beside the bundle (`dist/plugin.js.map`, sources relative to
 * the plugin directory, without their contents).
 */

/** The file name the sandbox gives the bundle: stack frames in it are `plugin-bundle.js:<line>:<column>`. */
export const BUNDLE_FILENAME = 'plugin-bundle.js';
/** A source map larger than this is refused (at build and upload); without `sourcesContent` maps stay small. */
export const MAX_SOURCE_MAP_BYTES = 2 * 1024 * 1024;

const FRAME = new RegExp(`${BUNDLE_FILENAME.replace('.', '\\.')}:(\\d+):(\\d+)`, 'g');

/** Parses a source map; throws a TypeError naming what is wrong. */
export function parseSourceMap(text: string): TraceMap {
  if (text.length > MAX_SOURCE_MAP_BYTES) throw new TypeError(`the source map is larger than ${MAX_SOURCE_MAP_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TypeError('the source map is not JSON');
  }
  const m = json as { version?: unknown; mappings?: unknown; sources?: unknown };
  if (m.version !== 3 || typeof m.mappings !== 'string' || !Array.isArray(m.sources) || !m.sources.every((s) => typeof s === 'string')) {
    throw new TypeError('the source map must be a version 3 source map with sources and mappings');
  }
  return new TraceMap(json as ConstructorParameters<typeof TraceMap>[0]);
}

/**
 * Rewrites each `plugin-bundle.js:<line>:<column>` of a V8 stack to the plugin's own `<source>:<line>:<column>`
 * (frames that map to nothing stay as they are).
 */
export function mapStack(stack: string, map: TraceMap): string {
  return stack.replace(FRAME, (frame, line: string, column: string) => {
    const pos = originalPositionFor(map, { line: Number(line), column: Math.max(0, Number(column) - 1) });
    return pos.source === null ? frame : `${pos.source}:${pos.line}:${pos.column + 1}`;
  });
}
