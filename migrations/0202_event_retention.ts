import type { Knex } from 'knex';

// Retention of events per workspace (docs/operations.md §Retention): how many days events are kept after they were
// received, and how far pruning has gone (events are visited in id order, which is arrival order, so each pass
// starts after the last event the previous one visited). Nullable without defaults: nothing is rewritten.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE workspace_retention
      ADD COLUMN events_days integer CHECK (events_days >= 1),
      ADD COLUMN events_pruned_after uuid;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE workspace_retention DROP COLUMN IF EXISTS events_days, DROP COLUMN IF EXISTS events_pruned_after');
}
