import type { Knex } from 'knex';

// OAuth2 connections of plugins, and the engine's state of plugin triggers per flow: a polling trigger's cursor
// and the item ids it has turned into events, a webhook trigger's vendor subscription.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The tokens of a workspace's OAuth2 connection to a plugin's vendor, sealed like plugin_credentials
    -- (AES-256-GCM, JSON { access_token, refresh_token }, workspace and plugin bound in). The row is locked while
    -- a token is refreshed, so one refresh runs per connection at a time across every engine process.
    CREATE TABLE plugin_oauth_tokens (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      plugin_id text NOT NULL,
      key_id text NOT NULL,
      ciphertext text NOT NULL,
      -- null: the provider said nothing about expiry (the token is refreshed only after a 401).
      expires_at timestamptz,
      scopes text[] NOT NULL DEFAULT '{}',
      connected_at timestamptz NOT NULL,
      refreshed_at timestamptz,
      refreshes integer NOT NULL DEFAULT 0,
      PRIMARY KEY (workspace_id, plugin_id)
    );

    -- One row per flow whose trigger.event names a plugin trigger as its source ("plugin:<id>/<key>"), while the
    -- engine runs it: a polling trigger's cursor, a webhook trigger's subscription (what subscribe returned).
    CREATE TABLE plugin_trigger_states (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      flow_id uuid NOT NULL,
      plugin_id text NOT NULL,
      trigger_key text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('polling', 'webhook')),
      plugin_version text NOT NULL,
      interval_seconds integer,
      cursor jsonb,
      subscription jsonb,
      webhook_url text,
      polls integer NOT NULL DEFAULT 0,
      polled_at timestamptz,
      last_error text,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, flow_id)
    );

    -- The item ids a flow's polling trigger has turned into events: an id is recorded in the transaction that
    -- records its event and moves the cursor, so an item becomes an event once, across restarts and processes.
    CREATE TABLE plugin_poll_seen (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      flow_id uuid NOT NULL,
      item_id text NOT NULL,
      seen_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, flow_id, item_id)
    );
    CREATE INDEX plugin_poll_seen_age ON plugin_poll_seen (workspace_id, flow_id, seen_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS plugin_poll_seen, plugin_trigger_states, plugin_oauth_tokens CASCADE`);
}
