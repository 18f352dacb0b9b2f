import type { Knex } from 'knex';

// Backtests: a flow (its draft or a version, snapshotted when asked for) replayed over a period of recorded events.
// The result is kept for later viewing; `status` is the job's own stop signal (cancel sets it, the job checks it).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE backtests (
      workspace_id uuid NOT NULL,
      id uuid NOT NULL,
      flow_id uuid NOT NULL,
      version int,
      document jsonb NOT NULL,
      period_from timestamptz NOT NULL,
      period_to timestamptz NOT NULL,
      sample int NOT NULL DEFAULT 5,
      status text NOT NULL CHECK (status IN ('running','done','failed','cancelled')),
      progress double precision NOT NULL DEFAULT 0,
      processed_events bigint NOT NULL DEFAULT 0,
      total_events bigint,
      result jsonb,
      error jsonb,
      created_at timestamptz NOT NULL,
      finished_at timestamptz,
      PRIMARY KEY (workspace_id, id)
    );
    CREATE INDEX backtests_flow ON backtests (workspace_id, flow_id, created_at DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE backtests`);
}
