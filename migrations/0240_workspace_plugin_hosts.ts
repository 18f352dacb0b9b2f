import type { Knex } from 'knex';

// Hosts a workspace's admin adds to every plugin's allowedHosts for development (GET/PUT /v1/settings/plugin-hosts),
// so a local fake API or a vendor's sandbox host needs no change to the manifest. One row per workspace.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE workspace_plugin_hosts (
      workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
      hosts text[] NOT NULL DEFAULT '{}',
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS workspace_plugin_hosts');
}
