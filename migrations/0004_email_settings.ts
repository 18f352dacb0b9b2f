import type { Knex } from 'knex';

// Each workspace's SMTP settings for action.send_email. The SMTP URL (it carries the password) is sealed with
// AES-256-GCM under CAIRN_SECRET_KEY, bound to the workspace; it is never returned by the API.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE email_settings (
      workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
      smtp_url_sealed text NOT NULL,
      key_id text NOT NULL,
      smtp_host text NOT NULL,
      from_address text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS email_settings');
}
