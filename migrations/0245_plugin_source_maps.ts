import type { Knex } from 'knex';

// The source map of a plugin version's bundle (uploaded by cairn-plugin publish from dist/plugin.js.map): failed
// steps' stacks are mapped back to the plugin's TypeScript source with it. Null for versions uploaded without one.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE plugin_versions ADD COLUMN source_map text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE plugin_versions DROP COLUMN IF EXISTS source_map');
}
