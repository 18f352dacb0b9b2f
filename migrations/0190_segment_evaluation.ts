import type { Knex } from 'knex';

// Creating a segment or changing its rule evaluates the existing contacts in a background job (docs/segments.md):
// rule_version counts rule versions, evaluated_version is the last one whose full evaluation finished; the segment's
// status is "evaluating" while they differ. Existing segments were evaluated in the request that stored them.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE segments
      ADD COLUMN rule_version integer NOT NULL DEFAULT 1,
      ADD COLUMN evaluated_version integer NOT NULL DEFAULT 1;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE segments DROP COLUMN IF EXISTS rule_version, DROP COLUMN IF EXISTS evaluated_version');
}
