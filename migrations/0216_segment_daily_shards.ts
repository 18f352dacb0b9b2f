import type { Knex } from 'knex';

// Member counts are kept per segment, UTC day and shard (crm/segments/membership.ts countTransitions): a transaction
// adds its transitions to the row of its own shard (its backend's), so concurrent ingestion batches entering contacts
// into the same segment on the same day no longer queue on one counter row until each other's commit. The member
// count stays exact: it is the sum over the segment's rows.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE segment_daily ADD COLUMN shard smallint NOT NULL DEFAULT 0;
    ALTER TABLE segment_daily DROP CONSTRAINT segment_daily_pkey;
    ALTER TABLE segment_daily ADD PRIMARY KEY (workspace_id, segment_id, day, shard);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE segment_daily_merged AS
      SELECT workspace_id, segment_id, day, sum(entered)::int AS entered, sum(exited)::int AS exited FROM segment_daily GROUP BY 1, 2, 3;
    TRUNCATE segment_daily;
    ALTER TABLE segment_daily DROP CONSTRAINT segment_daily_pkey;
    ALTER TABLE segment_daily DROP COLUMN shard;
    INSERT INTO segment_daily (workspace_id, segment_id, day, entered, exited) SELECT * FROM segment_daily_merged;
    DROP TABLE segment_daily_merged;
    ALTER TABLE segment_daily ADD PRIMARY KEY (workspace_id, segment_id, day);
  `);
}
