import { mapStack, parseSourceMap } from '@cairn/plugin-sdk/host';
import type { Db } from '../db/index.ts';

/**
 * Maps a failed plugin call's stack (frames in `plugin-bundle.js`) to the plugin's source files with the source map
 * uploaded with that version. Versions are immutable, so parsed maps are cached; the least recently used beyond
 * `maxMaps` are dropped. A version without a map, or with one that does not parse, keeps the bundle's frames.
 */
export interface StackMapper {
  map(ref: { workspaceId: string; pluginId: string; version: string }, stack: string): Promise<string>;
}

export function createStackMapper(db: Db, maxMaps = 64): StackMapper {
  const cache = new Map<string, Promise<ReturnType<typeof parseSourceMap> | null>>();
  const load = async (workspaceId: string, pluginId: string, version: string) => {
    const row = await db('plugin_versions').where({ workspace_id: workspaceId, plugin_id: pluginId, version }).first<{ source_map: string | null } | undefined>('source_map');
    if (!row?.source_map) return null;
    try {
      return parseSourceMap(row.source_map);
    } catch {
      return null;
    }
  };
  return {
    async map({ workspaceId, pluginId, version }, stack) {
      const key = `${workspaceId}/${pluginId}@${version}`;
      let entry = cache.get(key);
      if (entry) cache.delete(key);
      else {
        // A failed read is not cached: the next failure tries again.
        entry = load(workspaceId, pluginId, version).catch(() => {
          cache.delete(key);
          return null;
        });
      }
      cache.set(key, entry);
      if (cache.size > maxMaps) cache.delete(cache.keys().next().value!);
      const traceMap = await entry;
      return traceMap ? mapStack(stack, traceMap) : stack;
    },
  };
}
