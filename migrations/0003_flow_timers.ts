import type { Knex } from 'knex';

// Flows whose trigger is a clock (trigger.schedule: cron; trigger.date: a date property of each contact): when the
// timer poller next has to look at them.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE flow_timers (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      flow_id uuid PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
      version integer NOT NULL,
      kind text NOT NULL CHECK (kind IN ('trigger.schedule', 'trigger.date')),
      next_at timestamptz NOT NULL,
      -- trigger.date: contacts whose moment falls before this were already enrolled (scan windows never overlap).
      scanned_until timestamptz
    );
    CREATE INDEX flow_timers_due ON flow_timers (next_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS flow_timers');
}
