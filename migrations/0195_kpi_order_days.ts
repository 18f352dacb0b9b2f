import type { Knex } from 'knex';

// GET /v1/kpis reads orders from the per-contact daily roll-up that ingestion keeps (contact_activity_days) instead
// of the events: this index finds a workspace's order days of a period. Partial, so the upsert of every other
// event type's day row pays nothing for it.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX contact_activity_days_orders ON contact_activity_days (workspace_id, day) INCLUDE (contact_id, count, sum)
      WHERE event_type = 'order.completed';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX IF EXISTS contact_activity_days_orders`);
}
