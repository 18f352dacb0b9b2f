import type { Knex } from 'knex';

// An erased contact's open lead is released too ('erased'), so it stops counting against its owner's capacity.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE owner_leads DROP CONSTRAINT owner_leads_released_reason_check;
    ALTER TABLE owner_leads ADD CONSTRAINT owner_leads_released_reason_check CHECK (released_reason IN ('task_completed', 'reassigned', 'erased'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE owner_leads SET released_reason = 'reassigned' WHERE released_reason = 'erased';
    ALTER TABLE owner_leads DROP CONSTRAINT owner_leads_released_reason_check;
    ALTER TABLE owner_leads ADD CONSTRAINT owner_leads_released_reason_check CHECK (released_reason IN ('task_completed', 'reassigned'));
  `);
}
