import type { Knex } from 'knex';

// Retention of run step detail per workspace (docs/operations.md §Retention): how many days the steps of ended runs
// are kept, and how far pruning has gone (runs are scanned by start time along runs_flow_started, so each pass
// starts where the previous one stopped instead of rescanning history).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE workspace_retention (
      workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
      run_steps_days integer CHECK (run_steps_days >= 1),
      -- Runs started before this have been visited by pruning.
      steps_pruned_before timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS workspace_retention');
}
