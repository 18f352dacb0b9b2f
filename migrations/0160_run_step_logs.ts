import type { Knex } from 'knex';

// What a step's code logged (a plugin's ctx.log and console.* lines), bounded and redacted by the sandbox host and
// returned by GET /v1/runs/{id}. Nullable without a default: adding it rewrites nothing.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE run_steps ADD COLUMN logs jsonb');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE run_steps DROP COLUMN IF EXISTS logs');
}
