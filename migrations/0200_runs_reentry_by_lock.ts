import type { Knex } from 'knex';

// runs_reentry (one open run per contact and exclusive flow) goes: its predicate read `status`, so every run's
// completion had to write new entries in all indexes of runs (never a HOT update), and it held an entry per open run
// (about 50 bytes per waiting run). The rule is now checked under the contact's row lock, which every path that opens
// a run already holds (runner/postgres/runs/exclusive.ts). No fillfactor change: measured on W1, a batch of runs is
// completed by one statement, so a page would need room for all its rows at once (docs/operations.md §Footprint).
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX runs_reentry');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE UNIQUE INDEX runs_reentry ON runs (flow_id, contact_id) WHERE exclusive AND status IN ('active','waiting')`);
}
