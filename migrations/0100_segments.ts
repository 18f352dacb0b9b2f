import type { Knex } from 'knex';

// Behavioural attributes kept on ingest, segments and their incremental membership (docs/segments.md).
// Like contacts and events, these hot tables carry no foreign keys: workspace_id comes from the authenticated key.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Per contact and event type, all time: count, first/last time, sum of properties.amount.
    CREATE TABLE contact_activity (
      workspace_id uuid NOT NULL,
      contact_id uuid NOT NULL,
      event_type text NOT NULL,
      count bigint NOT NULL,
      sum double precision NOT NULL,
      first_at timestamptz NOT NULL,
      last_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, contact_id, event_type)
    ) WITH (fillfactor = 80);

    -- The same per UTC day of occurred_at: rolling windows ("3+ orders in the last 90 days") sum these.
    CREATE TABLE contact_activity_days (
      workspace_id uuid NOT NULL,
      contact_id uuid NOT NULL,
      event_type text NOT NULL,
      day date NOT NULL,
      count integer NOT NULL,
      sum double precision NOT NULL,
      PRIMARY KEY (workspace_id, contact_id, event_type, day)
    ) WITH (fillfactor = 80);

    CREATE TABLE segments (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      id uuid NOT NULL,
      key text NOT NULL,
      name text NOT NULL,
      rule jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, id),
      UNIQUE (workspace_id, key)
    );

    CREATE TABLE segment_members (
      workspace_id uuid NOT NULL,
      segment_id uuid NOT NULL,
      contact_id uuid NOT NULL,
      entered_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, segment_id, contact_id)
    );
    CREATE INDEX segment_members_contact ON segment_members (workspace_id, contact_id);

    -- Transitions per UTC day: the member count is sum(entered - exited) over a few rows, never a count(*) of members,
    -- and the running sum per day is the size history.
    CREATE TABLE segment_daily (
      workspace_id uuid NOT NULL,
      segment_id uuid NOT NULL,
      day date NOT NULL,
      entered integer NOT NULL DEFAULT 0,
      exited integer NOT NULL DEFAULT 0,
      PRIMARY KEY (workspace_id, segment_id, day)
    );

    -- The next moment a time-relative rule may flip for a contact ("no order in 30 days" at day 30).
    CREATE TABLE segment_wakeups (
      workspace_id uuid NOT NULL,
      contact_id uuid NOT NULL,
      wake_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, contact_id)
    );
    CREATE INDEX segment_wakeups_due ON segment_wakeups (wake_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS segment_wakeups, segment_daily, segment_members, segments, contact_activity_days, contact_activity');
}
