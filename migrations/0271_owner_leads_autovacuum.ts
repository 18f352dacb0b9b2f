import type { Knex } from 'knex';

// owner_leads joins the hot tables of 0270: routing inserts a row per assigned lead (half of W1's leads) and
// updates it when the lead is released or reassigned. Its lookups by contact were planned from the statistics of
// its empty state (a scan of every open lead of the workspace per batch, measured at 2,000 leads); the engine's
// keeper (engine/src/db/maintenance.ts) now analyzes and vacuums it as it does the others, and these settings do the
// same where autovacuum is on. Storage parameters only: no rewrite.
const SETTINGS = ['autovacuum_vacuum_scale_factor', 'autovacuum_vacuum_insert_scale_factor', 'autovacuum_analyze_scale_factor'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE owner_leads SET (${SETTINGS.map((s) => `${s} = 0.05`).join(', ')}, autovacuum_vacuum_threshold = 1000)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE owner_leads RESET (${[...SETTINGS, 'autovacuum_vacuum_threshold'].join(', ')})`);
}
