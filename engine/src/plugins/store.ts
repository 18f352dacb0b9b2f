import type { JsonValue } from '@cairn/plugin-sdk';
import type { PluginStoreBackend } from '@cairn/plugin-sdk/host';
import type { Db } from '../db/index.ts';
import type { Clock } from '../time/clock.ts';

/** `ctx.store` of one plugin in one workspace, in `plugin_store`; at most MAX_KEYS keys each. */
const MAX_KEYS = 1000;

export function createPluginStore(db: Db, clock: Clock, workspaceId: string, pluginId: string): PluginStoreBackend {
  const scope = { workspace_id: workspaceId, plugin_id: pluginId };
  return {
    async get(key) {
      const row = await db('plugin_store').where({ ...scope, key }).first<{ value: JsonValue } | undefined>('value');
      return row?.value;
    },
    async set(key, value) {
      const inserted = await db.raw(
        `INSERT INTO plugin_store (workspace_id, plugin_id, key, value, updated_at)
         SELECT ?, ?, ?, ?::jsonb, ?
         WHERE (SELECT count(*) FROM plugin_store WHERE workspace_id = ? AND plugin_id = ?) < ?
            OR EXISTS (SELECT 1 FROM plugin_store WHERE workspace_id = ? AND plugin_id = ? AND key = ?)
         ON CONFLICT (workspace_id, plugin_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
         RETURNING 1`,
        [workspaceId, pluginId, key, JSON.stringify(value), clock.now(), workspaceId, pluginId, MAX_KEYS, workspaceId, pluginId, key],
      );
      if (inserted.rowCount === 0) throw Object.assign(new Error(`the plugin store holds at most ${MAX_KEYS} keys`), { code: 'STORE_FULL' });
    },
    async delete(key) {
      await db('plugin_store').where({ ...scope, key }).delete();
    },
  };
}
