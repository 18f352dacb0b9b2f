import type { Knex } from 'knex';

// Churn risk is computed by one statement over the workspace's customers (crm/segments/scores.ts): each factor's
// measured value is a column (the points and the listed factors are derived from them by `churnFactors`), not a
// JSON document written per customer and recompute. fillfactor leaves room on each page, so the hourly rewrite
// of the scores is a HOT update (no index entry per row).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE contact_churn
      ADD COLUMN recency_ratio double precision,
      ADD COLUMN frequency_trend double precision,
      ADD COLUMN engagement_decline double precision,
      ADD COLUMN nps double precision,
      ADD COLUMN open_tickets double precision;
    UPDATE contact_churn SET
      recency_ratio = coalesce((SELECT (f->>'value')::float8 FROM jsonb_array_elements(factors) f WHERE f->>'factor' = 'recency'), 0),
      frequency_trend = coalesce((SELECT (f->>'value')::float8 FROM jsonb_array_elements(factors) f WHERE f->>'factor' = 'frequency_trend'), 0),
      engagement_decline = coalesce((SELECT (f->>'value')::float8 FROM jsonb_array_elements(factors) f WHERE f->>'factor' = 'engagement_decline'), 0),
      nps = (SELECT (f->>'value')::float8 FROM jsonb_array_elements(factors) f WHERE f->>'factor' = 'nps_detractor'),
      open_tickets = coalesce((SELECT (f->>'value')::float8 FROM jsonb_array_elements(factors) f WHERE f->>'factor' = 'open_support_issues'), 0);
    ALTER TABLE contact_churn
      ALTER COLUMN recency_ratio SET NOT NULL,
      ALTER COLUMN frequency_trend SET NOT NULL,
      ALTER COLUMN engagement_decline SET NOT NULL,
      ALTER COLUMN open_tickets SET NOT NULL,
      DROP COLUMN factors;
    ALTER TABLE contact_churn SET (fillfactor = 70);
    ALTER TABLE contact_rfm SET (fillfactor = 70);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE contact_churn ADD COLUMN factors jsonb NOT NULL DEFAULT '[]',
      DROP COLUMN recency_ratio, DROP COLUMN frequency_trend, DROP COLUMN engagement_decline, DROP COLUMN nps, DROP COLUMN open_tickets;
    ALTER TABLE contact_churn RESET (fillfactor);
    ALTER TABLE contact_rfm RESET (fillfactor);
  `);
}
