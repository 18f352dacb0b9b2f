import type { Knex } from 'knex';

// Workspaces, people, API keys, contacts, events and request idempotency. Every table carries workspace_id.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE workspaces (
      id uuid PRIMARY KEY,
      workspace_id uuid GENERATED ALWAYS AS (id) STORED,
      slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      name text NOT NULL,
      settings jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE users (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      email text NOT NULL,
      name text,
      password_hash text NOT NULL,
      role text NOT NULL CHECK (role IN ('admin','editor','viewer','ingest')),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_email ON users (workspace_id, lower(email));

    -- Keys are stored as sha256 of the secret; prefix finds the row, the hash proves the key.
    CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      prefix text NOT NULL UNIQUE,
      key_hash text NOT NULL,
      role text NOT NULL CHECK (role IN ('admin','editor','viewer','ingest')),
      name text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    );
    CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

    -- contacts and events carry no foreign key to workspaces: a check takes a KEY SHARE lock on the parent row, and
    -- every concurrent ingestion transaction would take it on the same workspace row (measured: 25-65% of W1
    -- throughput). workspace_id always comes from the authenticated key, so the code keeps it valid.
    CREATE TABLE contacts (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL,
      external_id text,
      email text,
      properties jsonb NOT NULL DEFAULT '{}',
      tags text[] NOT NULL DEFAULT '{}',
      score double precision NOT NULL DEFAULT 0,
      owner_id uuid,
      lifecycle_stage text,
      timezone text,
      -- Highest events.seq of this contact that the run executor has applied (its inbox cursor).
      processed_seq bigint NOT NULL DEFAULT 0,
      erased_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    ) WITH (fillfactor = 80); -- room on each page, so owner/score/property updates stay HOT (no index writes)
    CREATE UNIQUE INDEX contacts_external_id ON contacts (workspace_id, external_id) WHERE external_id IS NOT NULL;
    CREATE UNIQUE INDEX contacts_email ON contacts (workspace_id, lower(email)) WHERE email IS NOT NULL;
    CREATE INDEX contacts_workspace_id ON contacts (workspace_id, id);
    -- Partial: a new contact has no tags, and ingestion should not pay for a GIN entry it will never need.
    CREATE INDEX contacts_tags ON contacts USING gin (tags) WHERE tags <> '{}';

    CREATE TABLE events (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL,
      -- Commit order per contact (ingestion holds the contact's row lock while it inserts).
      seq bigint GENERATED ALWAYS AS IDENTITY,
      contact_id uuid NOT NULL,
      type text NOT NULL,
      properties jsonb NOT NULL DEFAULT '{}',
      occurred_at timestamptz NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      idempotency_key text,
      source text NOT NULL DEFAULT 'api'
    );
    CREATE UNIQUE INDEX events_idempotency ON events (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX events_contact ON events (workspace_id, contact_id, seq);

    -- Idempotency-Key header replay for POSTs that create something.
    CREATE TABLE idempotency_requests (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      key text NOT NULL,
      route text NOT NULL,
      request_hash text NOT NULL,
      status integer NOT NULL,
      response jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, route, key)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS idempotency_requests, events, contacts, api_keys, users, workspaces CASCADE`);
}
