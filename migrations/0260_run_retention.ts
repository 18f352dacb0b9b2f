import type { Knex } from 'knex';

// Retention of run rows per workspace (docs/operations.md §Retention). Before an ended run past the window is
// deleted, what GET /v1/kpis reads from it is added to roll-ups kept for ever:
// - run_rollups: runs entered and converted per flow, version and UTC day of start;
// - run_split_rollups: per split node and branch (null: the holdout), with the UTC day of the contact's first goal
//   event at or after the run's start (null: none yet when rolled up). Filled when a run's step detail goes (the
//   branch is read from the split's step), whether by run_steps_days or with the run.
// email_messages.flow_id is set on the messages of a deleted run, so email KPIs per flow and node still find it.
// Nullable columns without defaults: nothing is rewritten.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE workspace_retention
      ADD COLUMN runs_days integer CHECK (runs_days >= 1),
      ADD COLUMN runs_pruned_before timestamptz;

    CREATE TABLE run_rollups (
      workspace_id uuid NOT NULL,
      flow_id uuid NOT NULL,
      version integer NOT NULL,
      day date NOT NULL,
      entered bigint NOT NULL,
      converted bigint NOT NULL,
      PRIMARY KEY (workspace_id, flow_id, version, day)
    );

    CREATE TABLE run_split_rollups (
      workspace_id uuid NOT NULL,
      flow_id uuid NOT NULL,
      version integer NOT NULL,
      day date NOT NULL,
      node_id text NOT NULL,
      branch text,
      goal_day date,
      entered bigint NOT NULL,
      converted bigint NOT NULL
    );
    CREATE UNIQUE INDEX run_split_rollups_key ON run_split_rollups
      (workspace_id, flow_id, version, day, node_id, branch, goal_day) NULLS NOT DISTINCT;

    ALTER TABLE email_messages ADD COLUMN flow_id uuid;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_messages DROP COLUMN IF EXISTS flow_id;
    DROP TABLE IF EXISTS run_split_rollups;
    DROP TABLE IF EXISTS run_rollups;
    ALTER TABLE workspace_retention DROP COLUMN IF EXISTS runs_days, DROP COLUMN IF EXISTS runs_pruned_before;
  `);
}
