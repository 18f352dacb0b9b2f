import type { Knex } from 'knex';

// Run retention revisits runs it had to keep (docs/operations.md §Retention): the earliest start among runs still
// open (or ended inside the window) when pruning passed them, and when that range was last walked again, so a run
// that outlives its window is deleted once it ends instead of being kept for ever. Nullable, no default: no rewrite.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE workspace_retention
      ADD COLUMN runs_kept_from timestamptz,
      ADD COLUMN runs_revisited_at timestamptz;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE workspace_retention DROP COLUMN IF EXISTS runs_kept_from, DROP COLUMN IF EXISTS runs_revisited_at');
}
