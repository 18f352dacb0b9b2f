import type { Knex } from 'knex';

// RFM scores and churn risk per contact, recomputed over the workspace's customers (docs/segments.md).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Customers (r/f/m 1-5 by quintile) and window shoppers (engaged, never bought: scores null).
    CREATE TABLE contact_rfm (
      workspace_id uuid NOT NULL,
      contact_id uuid NOT NULL,
      r smallint,
      f smallint,
      m smallint,
      rfm_group text NOT NULL,
      computed_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, contact_id)
    );

    -- Churn risk 0-100 with each factor's contribution, so a user can read why.
    CREATE TABLE contact_churn (
      workspace_id uuid NOT NULL,
      contact_id uuid NOT NULL,
      score smallint NOT NULL,
      factors jsonb NOT NULL,
      computed_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, contact_id)
    );

    -- Workspaces whose scores are kept current (recomputed hourly once computed), and when they last were.
    CREATE TABLE workspace_scores (
      workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
      computed_at timestamptz NOT NULL
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS workspace_scores, contact_churn, contact_rfm');
}
