import type { Knex } from 'knex';

// Lifecycle programs (issue 11): owner load and task completion, lead scoring, referral programs, loyalty.
// Each table carries workspace_id and its keys lead with it.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- An owner's open leads: one row per assignment; released when the lead's task completes or the lead is
    -- reassigned. owners.assigned_count is the count of this owner's unreleased rows (kept in the same transaction).
    CREATE TABLE owner_leads (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      id uuid NOT NULL,
      contact_id uuid NOT NULL,
      owner_id uuid NOT NULL,
      assigned_at timestamptz NOT NULL,
      released_at timestamptz,
      released_reason text CHECK (released_reason IN ('task_completed', 'reassigned')),
      PRIMARY KEY (workspace_id, id)
    );
    CREATE UNIQUE INDEX owner_leads_open ON owner_leads (workspace_id, contact_id) WHERE released_at IS NULL;
    -- Until now assigned_count counted every assignment ever made: start from the leads owned today.
    INSERT INTO owner_leads (workspace_id, id, contact_id, owner_id, assigned_at)
      SELECT workspace_id, gen_random_uuid(), id, owner_id, updated_at FROM contacts WHERE owner_id IS NOT NULL AND erased_at IS NULL;
    UPDATE owners o SET assigned_count = (SELECT count(*) FROM owner_leads l WHERE l.workspace_id = o.workspace_id AND l.owner_id = o.id);

    ALTER TABLE tasks ADD COLUMN completed_at timestamptz, ADD COLUMN updated_at timestamptz;
    ALTER TABLE tasks ADD CONSTRAINT tasks_status CHECK (status IN ('open', 'done'));
    CREATE INDEX tasks_owner ON tasks (workspace_id, owner_id, status, id);

    -- One scoring model per workspace (PUT /v1/scoring replaces it).
    CREATE TABLE scoring_models (
      workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
      model jsonb NOT NULL,
      updated_at timestamptz NOT NULL
    );

    -- A contact's scoring state: points per rule (decayed), points ever awarded per rule (for max_per_contact),
    -- when decay was last applied, and the threshold crossings already recorded.
    CREATE TABLE contact_scores (
      workspace_id uuid NOT NULL,
      contact_id uuid NOT NULL,
      breakdown jsonb NOT NULL DEFAULT '{}',
      awarded jsonb NOT NULL DEFAULT '{}',
      decayed_at timestamptz NOT NULL,
      qualified_at timestamptz,
      disqualified_at timestamptz,
      PRIMARY KEY (workspace_id, contact_id)
    );

    CREATE TABLE referral_programs (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      key text NOT NULL,
      config jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, key)
    );

    -- One code per contact and program; codes are unique in the workspace so an event's referral_code finds one program.
    CREATE TABLE referral_codes (
      workspace_id uuid NOT NULL,
      program text NOT NULL,
      contact_id uuid NOT NULL,
      code text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, program, contact_id)
    );
    CREATE UNIQUE INDEX referral_codes_code ON referral_codes (workspace_id, code);

    -- A referee is attributed to at most one referrer per program.
    CREATE TABLE referral_attributions (
      workspace_id uuid NOT NULL,
      program text NOT NULL,
      referee_id uuid NOT NULL,
      referrer_id uuid NOT NULL,
      code text NOT NULL,
      created_at timestamptz NOT NULL,
      rewarded_at timestamptz,
      PRIMARY KEY (workspace_id, program, referee_id)
    );

    -- The rewards ledger; refusals are rows too (status 'refused' with a reason).
    CREATE TABLE rewards (
      workspace_id uuid NOT NULL,
      id uuid NOT NULL,
      program text NOT NULL,
      contact_id uuid NOT NULL,
      role text NOT NULL CHECK (role IN ('referrer', 'referee')),
      status text NOT NULL CHECK (status IN ('pending', 'granted', 'voided', 'refused')),
      reason text,
      reward jsonb,
      referee_id uuid,
      referrer_id uuid,
      event_id uuid,
      due_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, id)
    );
    CREATE INDEX rewards_contact ON rewards (workspace_id, contact_id, id);
    CREATE INDEX rewards_referee ON rewards (workspace_id, program, referee_id);
    CREATE INDEX rewards_referrer ON rewards (workspace_id, program, referrer_id, created_at) WHERE role = 'referrer' AND status <> 'refused';
    CREATE INDEX rewards_due ON rewards (due_at) WHERE status = 'pending';

    CREATE TABLE loyalty_programs (
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      key text NOT NULL,
      config jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, key)
    );

    -- A member's balance (= sum of its ledger) and tier; its row lock serialises redemptions.
    CREATE TABLE loyalty_members (
      workspace_id uuid NOT NULL,
      program text NOT NULL,
      contact_id uuid NOT NULL,
      balance bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
      earned bigint NOT NULL DEFAULT 0,
      tier text,
      PRIMARY KEY (workspace_id, program, contact_id)
    );

    -- Append-only points ledger. points never change; 'remaining' is bookkeeping of how much of an earned lot is
    -- still unspent (redemptions use the oldest lots first), so expiry removes only what was not spent.
    CREATE TABLE loyalty_ledger (
      workspace_id uuid NOT NULL,
      id uuid NOT NULL,
      program text NOT NULL,
      contact_id uuid NOT NULL,
      kind text NOT NULL CHECK (kind IN ('earn', 'redeem', 'expire')),
      points bigint NOT NULL,
      remaining bigint NOT NULL DEFAULT 0,
      event_id uuid,
      idempotency_key text,
      expires_at timestamptz,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, id)
    );
    CREATE INDEX loyalty_ledger_member ON loyalty_ledger (workspace_id, program, contact_id, id);
    CREATE UNIQUE INDEX loyalty_ledger_key ON loyalty_ledger (workspace_id, program, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX loyalty_ledger_expiry ON loyalty_ledger (expires_at) WHERE kind = 'earn' AND remaining > 0;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS loyalty_ledger, loyalty_members, loyalty_programs, rewards, referral_attributions, referral_codes,
      referral_programs, contact_scores, scoring_models, owner_leads CASCADE;
    DROP INDEX IF EXISTS tasks_owner;
    ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_status, DROP COLUMN IF EXISTS completed_at, DROP COLUMN IF EXISTS updated_at;
  `);
}
