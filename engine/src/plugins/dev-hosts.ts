import type { Db } from '../db/index.ts';

/**
 * A workspace's development hosts (GET/PUT /v1/settings/plugin-hosts): added to every plugin's manifest
 * `allowedHosts` by the sandbox's fetch guard, so a local fake API or a vendor's sandbox/regional host works
 * without republishing the plugin. Only the allow list grows: private and loopback addresses still need the
 * operator's switch (`CAIRN_SANDBOX_ALLOW_PRIVATE_HOSTS`), and link-local (cloud metadata) addresses and the
 * engine's own database stay refused whatever is listed.
 */
export interface PluginHosts {
  hosts: string[];
}

/** `host`, `*.domain` or either with `:port`; never a bare `*` (that would open every host). */
export const pluginHostsSchema = {
  type: 'object', additionalProperties: false, required: ['hosts'],
  properties: {
    hosts: {
      type: 'array', maxItems: 50, uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 260, pattern: '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$' },
    },
  },
} as const;

export async function loadPluginHosts(db: Db, workspaceId: string): Promise<string[]> {
  const row = await db('workspace_plugin_hosts').where({ workspace_id: workspaceId }).first<{ hosts: string[] } | undefined>('hosts');
  return row?.hosts ?? [];
}

export async function putPluginHosts(db: Db, workspaceId: string, hosts: readonly string[], now: Date): Promise<PluginHosts> {
  const clean = [...new Set(hosts.map((h) => h.toLowerCase()))];
  await db.raw(
    `INSERT INTO workspace_plugin_hosts (workspace_id, hosts, updated_at) VALUES (?, ?::text[], ?)
     ON CONFLICT (workspace_id) DO UPDATE SET hosts = EXCLUDED.hosts, updated_at = EXCLUDED.updated_at`,
    [workspaceId, clean, now],
  );
  return { hosts: await loadPluginHosts(db, workspaceId) };
}
