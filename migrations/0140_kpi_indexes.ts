import type { Knex } from 'knex';

// GET /v1/kpis (docs/kpis.md) reads the period's rows, never a workspace's whole history:
// - the KPI event types by type and time. Partial, so ingestion of every other event type pays nothing for it;
// - runs by flow and start time (flow_id is globally unique, as in runs_flow).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX events_kpi ON events (workspace_id, type, occurred_at) INCLUDE (contact_id)
      WHERE type IN ('order.completed', 'customer.churned', 'nps.responded', 'csat.responded', 'marketing.spend');
    CREATE INDEX runs_flow_started ON runs (flow_id, started_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX IF EXISTS events_kpi, runs_flow_started`);
}
