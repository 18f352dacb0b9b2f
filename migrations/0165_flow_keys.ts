import type { Knex } from 'knex';

// A flow's key names it in a directory of flow files (`cairn flows pull/push`, <key>.flow.json): unique in its
// workspace, so a directory can be pushed to another workspace (staging → production) and find the same flows.
// Null for flows never synced; the builder does not need one.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE flows ADD COLUMN key text CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,99}$');
    CREATE UNIQUE INDEX flows_workspace_key ON flows (workspace_id, key) WHERE key IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX flows_workspace_key; ALTER TABLE flows DROP COLUMN key;`);
}
