import type { Knex } from 'knex';

// Behavioural attributes (contact_activity, contact_activity_days) are kept only for the event types something
// reads: a segment rule, a published flow's `activity` condition, churn risk (every type: '*'), and always
// order.completed (KPIs, RFM). A type is added here, with a backfill from events, when a reader first names it
// (crm/segments/activity.ts trackActivityTypes). Types never leave: a type once tracked stays maintained.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE activity_types (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      event_type text NOT NULL,
      tracked_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, event_type)
    );
    -- Until now every type was kept: an existing database goes on keeping the types it already holds.
    INSERT INTO activity_types (workspace_id, event_type)
    SELECT DISTINCT a.workspace_id, a.event_type FROM contact_activity a JOIN workspaces w ON w.id = a.workspace_id;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS activity_types');
}
