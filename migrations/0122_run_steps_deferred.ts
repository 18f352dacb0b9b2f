import type { Knex } from 'knex';

// A step may be recorded as `deferred`: an email moved out of quiet hours (output.deferred_until says when).
// NOT VALID + VALIDATE: the new check is verified without holding a write lock on run_steps for the scan.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE run_steps DROP CONSTRAINT run_steps_status_check;
    ALTER TABLE run_steps ADD CONSTRAINT run_steps_status_check CHECK (status IN ('completed','failed','skipped','deferred')) NOT VALID;
    ALTER TABLE run_steps VALIDATE CONSTRAINT run_steps_status_check;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM run_steps WHERE status = 'deferred';
    ALTER TABLE run_steps DROP CONSTRAINT run_steps_status_check;
    ALTER TABLE run_steps ADD CONSTRAINT run_steps_status_check CHECK (status IN ('completed','failed','skipped'));
  `);
}
