import type { Knex } from 'knex';

// A workspace's sending policy (quiet hours, frequency caps, tracking) and its email suppressions: a contact who
// unsubscribed from a category ('*' = every non-transactional message), hard-bounced or complained.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE email_policies (
      workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
      quiet_hours jsonb,
      frequency_caps jsonb NOT NULL DEFAULT '[]',
      tracking boolean NOT NULL DEFAULT true,
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE email_suppressions (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      contact_id uuid NOT NULL,
      category text NOT NULL,
      reason text NOT NULL CHECK (reason IN ('unsubscribed','bounced','complained')),
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, contact_id, category)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS email_suppressions, email_policies');
}
