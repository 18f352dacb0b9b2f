import type { Knex } from 'knex';

// The plugin registry of a workspace: immutable uploaded versions, which plugin is installed/enabled, the
// workspace's encrypted credentials for it, and the plugin's small key-value store (ctx.store).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- A published version never changes: same (plugin, version) with another bundle is refused (409).
    CREATE TABLE plugin_versions (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      plugin_id text NOT NULL CHECK (plugin_id ~ '^[a-z][a-z0-9_]{0,62}$'),
      version text NOT NULL,
      -- Numeric semver parts, so "the newest version" is an index-ordered query.
      major integer NOT NULL,
      minor integer NOT NULL,
      patch integer NOT NULL,
      prerelease text NOT NULL DEFAULT '',
      manifest jsonb NOT NULL,
      bundle text NOT NULL,
      bundle_sha256 text NOT NULL CHECK (bundle_sha256 ~ '^[0-9a-f]{64}$'),
      published_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, plugin_id, version)
    );
    CREATE INDEX plugin_versions_order ON plugin_versions (workspace_id, plugin_id, major DESC, minor DESC, patch DESC);

    CREATE TABLE plugin_installs (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      plugin_id text NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      -- The version new flow publications pin (the newest uploaded unless an admin chooses).
      current_version text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, plugin_id)
    );

    -- AES-256-GCM ciphertext of the JSON object of fields; field names are kept in clear so reads can say
    -- which fields are set without decrypting. key_id is a fingerprint of the key used (rotation).
    CREATE TABLE plugin_credentials (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      plugin_id text NOT NULL,
      fields text[] NOT NULL,
      key_id text NOT NULL,
      ciphertext text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, plugin_id)
    );

    CREATE TABLE plugin_store (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      plugin_id text NOT NULL,
      key text NOT NULL,
      value jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, plugin_id, key)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS plugin_store, plugin_credentials, plugin_installs, plugin_versions CASCADE`);
}
