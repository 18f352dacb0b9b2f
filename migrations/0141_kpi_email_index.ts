import type { Knex } from 'knex';

// Email engagement in GET /v1/kpis (docs/kpis.md) reads the period's tracked email events by type and time.
// Partial, like events_kpi (0140): other event types pay nothing for it.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX events_kpi_email ON events (workspace_id, type, occurred_at)
      WHERE type IN ('email.opened', 'email.clicked', 'email.bounced', 'email.complained', 'email.unsubscribed');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX IF EXISTS events_kpi_email`);
}
