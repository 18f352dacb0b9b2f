import type { Knex } from 'knex';

// One row per email a step tried to send: the frequency-cap ledger (reserved and sent rows count against a cap),
// the record of what was sent, and — with no SMTP server configured — the development outbox (the body is kept
// only for outbox messages). One row per (run, node): the step's idempotency key.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE email_messages (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      id uuid NOT NULL,
      run_id uuid NOT NULL,
      node_id text NOT NULL,
      contact_id uuid NOT NULL,
      category text NOT NULL,
      status text NOT NULL CHECK (status IN ('reserved','sent','capped','failed')),
      transport text CHECK (transport IN ('smtp','outbox')),
      skip_reason text,
      to_address text,
      from_address text,
      subject text,
      html text,
      text text,
      headers jsonb,
      created_at timestamptz NOT NULL,
      sent_at timestamptz,
      PRIMARY KEY (workspace_id, id),
      UNIQUE (workspace_id, run_id, node_id)
    );
    -- Frequency caps count a contact's recent messages of one category.
    CREATE INDEX email_messages_cap ON email_messages (workspace_id, contact_id, category, created_at);
    -- The outbox page lists a workspace's newest outbox messages.
    CREATE INDEX email_messages_outbox ON email_messages (workspace_id, id DESC) WHERE transport = 'outbox';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS email_messages');
}
