import type { Knex } from 'knex';

// Flows and their immutable versions, runs and their steps, per-node counters, owners, routing pools, tasks.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE flows (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      name text NOT NULL,
      status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','active','paused','archived')),
      draft jsonb NOT NULL,
      published_version integer,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX flows_workspace ON flows (workspace_id, id);

    CREATE TABLE flow_versions (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      flow_id uuid NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
      version integer NOT NULL,
      document jsonb NOT NULL,
      note text,
      -- Plugin versions the flow was published against: { "<plugin id>": "<semver>" }.
      plugin_pins jsonb NOT NULL DEFAULT '{}',
      published_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (flow_id, version)
    );

    -- The trigger of each live (published, not paused/archived) flow: what ingestion consults per batch.
    CREATE TABLE flow_triggers (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      flow_id uuid PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
      version integer NOT NULL,
      kind text NOT NULL,
      event_type text
    );
    CREATE INDEX flow_triggers_event ON flow_triggers (workspace_id, kind, event_type);

    -- Contacts that ever entered a flow whose reentry is 'never'.
    CREATE TABLE flow_enrollments (
      workspace_id uuid NOT NULL,
      flow_id uuid NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
      contact_id uuid NOT NULL,
      PRIMARY KEY (flow_id, contact_id)
    );

    -- state: ready (runnable now) | calling (external action job in flight) | sleeping (until wake_at)
    --        | listening (wait_for_event; wake_at = timeout) | done
    -- runs and run_steps are the hot path (a row per run, three per run): no foreign keys, for the reason given for
    -- contacts and events in 0001. Runs are never deleted and flows are only archived, so nothing is orphaned.
    CREATE TABLE runs (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL,
      flow_id uuid NOT NULL,
      version integer NOT NULL,
      contact_id uuid NOT NULL,
      status text NOT NULL CHECK (status IN ('active','waiting','completed','converted','exited','failed','cancelled')),
      state text NOT NULL,
      node_id text,
      node_entered_at timestamptz,
      attempt integer NOT NULL DEFAULT 0,
      wake_at timestamptz,
      listen_event text,
      -- Only runs of flows whose reentry is not 'always' are exclusive: one open run per contact and flow.
      exclusive boolean NOT NULL,
      trigger_event_id uuid,
      -- Events of the contact with seq <= since_seq have been applied to this run (or predate it).
      since_seq bigint NOT NULL DEFAULT 0,
      vars jsonb NOT NULL DEFAULT '{}',
      error jsonb,
      started_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      finished_at timestamptz
    );
    -- contact_id and flow_id are globally unique, so these indexes leave workspace_id out (queries still filter by
    -- it): 16 bytes less per entry on the table that holds a row per waiting contact.
    CREATE INDEX runs_contact ON runs (contact_id, id);
    CREATE INDEX runs_flow ON runs (flow_id, id);
    CREATE INDEX runs_wake ON runs (wake_at) WHERE wake_at IS NOT NULL;
    CREATE UNIQUE INDEX runs_reentry ON runs (flow_id, contact_id) WHERE exclusive AND status IN ('active','waiting');

    -- Keyed by (run_id, id): one index serves both identity and "the steps of a run in order", so a step insert
    -- (three per run on the hot path) maintains one B-tree, not two.
    CREATE TABLE run_steps (
      id bigint GENERATED ALWAYS AS IDENTITY,
      workspace_id uuid NOT NULL,
      run_id uuid NOT NULL,
      node_id text NOT NULL,
      status text NOT NULL CHECK (status IN ('completed','failed','skipped')),
      attempt integer NOT NULL DEFAULT 1,
      started_at timestamptz NOT NULL,
      finished_at timestamptz NOT NULL,
      output jsonb,
      error jsonb,
      PRIMARY KEY (run_id, id)
    );

    -- Counters are sharded so concurrent workers do not queue on one row; readers sum the shards.
    CREATE TABLE node_stats (
      workspace_id uuid NOT NULL,
      flow_id uuid NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
      version integer NOT NULL,
      node_id text NOT NULL,
      shard smallint NOT NULL,
      entered bigint NOT NULL DEFAULT 0,
      completed bigint NOT NULL DEFAULT 0,
      failed bigint NOT NULL DEFAULT 0,
      waiting bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (flow_id, version, node_id, shard)
    );
    CREATE TABLE flow_stats (
      workspace_id uuid NOT NULL,
      flow_id uuid NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
      version integer NOT NULL,
      shard smallint NOT NULL,
      started bigint NOT NULL DEFAULT 0,
      completed bigint NOT NULL DEFAULT 0,
      converted bigint NOT NULL DEFAULT 0,
      exited bigint NOT NULL DEFAULT 0,
      failed bigint NOT NULL DEFAULT 0,
      cancelled bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (flow_id, version, shard)
    );

    CREATE TABLE owners (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      name text NOT NULL,
      email text NOT NULL,
      weight integer NOT NULL DEFAULT 1 CHECK (weight >= 0),
      capacity integer CHECK (capacity >= 0),
      available boolean NOT NULL DEFAULT true,
      territories text[] NOT NULL DEFAULT '{}',
      assigned_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX owners_workspace ON owners (workspace_id, id);

    CREATE TABLE routing_pools (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      key text NOT NULL,
      owner_ids uuid[] NOT NULL,
      fallback_owner_id uuid,
      -- Round-robin position; advanced under the row lock so concurrent assignment stays fair.
      rr_cursor bigint NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (workspace_id, key)
    );

    -- Heartbeats of engine processes' graphile-worker pools, so jobs locked by a process that died (SIGKILL,
    -- power loss) are unlocked in seconds instead of graphile-worker's 4 hours. Engine-level, not tenant data:
    -- workspace_id stays null.
    CREATE TABLE engine_workers (
      worker_id text PRIMARY KEY,
      workspace_id uuid,
      host text NOT NULL,
      pid integer NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      heartbeat_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE tasks (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      contact_id uuid NOT NULL,
      owner_id uuid,
      assignee text,
      run_id uuid,
      node_id text,
      title text NOT NULL,
      body text,
      due_at timestamptz,
      status text NOT NULL DEFAULT 'open',
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX tasks_workspace ON tasks (workspace_id, id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS tasks, engine_workers, routing_pools, owners, flow_stats, node_stats, run_steps, runs,
    flow_enrollments, flow_triggers, flow_versions, flows CASCADE`);
}
