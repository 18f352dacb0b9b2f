import type { Knex } from 'knex';

// Autovacuum for the hot tables on servers where it is on (docs/operations.md §Storage and sizing). Their rows are
// inserted and then updated once (a contact by its owner or tag, a run at its completion), so every lead leaves dead
// versions whose space new rows reuse only once a vacuum has passed. The defaults (20% of the table changed) let a
// table of 10 million rows gather 2 million dead rows first; 5% (and the 1,000-row floor) keeps the waste small at
// any size. The engine's own keeper (engine/src/db/maintenance.ts) vacuums them too, for servers where autovacuum is
// off or behind. Storage parameters only: no rewrite, no lock beyond a moment's.
const TABLES = ['contacts', 'events', 'runs', 'run_steps'];
const SETTINGS = ['autovacuum_vacuum_scale_factor', 'autovacuum_vacuum_insert_scale_factor', 'autovacuum_analyze_scale_factor'];

export async function up(knex: Knex): Promise<void> {
  for (const table of TABLES) {
    await knex.raw(`ALTER TABLE ${table} SET (${SETTINGS.map((s) => `${s} = 0.05`).join(', ')}, autovacuum_vacuum_threshold = 1000)`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of TABLES) await knex.raw(`ALTER TABLE ${table} RESET (${[...SETTINGS, 'autovacuum_vacuum_threshold'].join(', ')})`);
}
