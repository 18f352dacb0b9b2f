import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../engine-harness.ts';
import { withTx } from '../../src/db/index.ts';
import { ingestEvents } from '../../src/crm/events.ts';
import { upsertContactsDeferringInsert } from '../../src/crm/contacts.ts';
import { activityLockSharedSql } from '../../src/crm/segments/activity.ts';

/** Statements that read a workspace's program, segment or activity-tracking configuration. */
const CONFIG = /\b(scoring_models|referral_programs|loyalty_programs|segments|activity_types)\b/;

describe('ingestion reads the workspace configuration once (crm/ingest-config.ts)', () => {
  let h: Harness;
  let statements: string[] = [];
  const record = (q: { sql: string }) => statements.push(q.sql);
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', workers: false });
    h.t.db.client.on('query', record);
  });
  afterAll(async () => {
    h?.t.db.client.removeListener('query', record);
    await h?.close();
  });

  const ingestOne = async (body: unknown) => {
    statements = [];
    expect((await h.call('POST', '/v1/events', body)).status).toBe(202);
    // The API key lookup is not part of the ingestion transaction.
    return statements.filter((s) => !/\bapi_keys\b/.test(s));
  };

  it('a workspace without programs or segments: one configuration statement per event, not one per hook', async () => {
    await ingestOne({ type: 'cfg.warm', contact: { email: 'warm@example.com' } });
    const sql = await ingestOne({ type: 'cfg.ping', contact: { email: 'one@example.com' } });
    expect(sql.filter((s) => CONFIG.test(s))).toHaveLength(1);
    // begin, contact lookup (taking the activity lock), contact and event insert with the configuration read (and
    // the flow triggers), run insert + job, commit.
    expect(sql.length).toBeLessThanOrEqual(5);
    const locks = sql.filter((s) => /pg_advisory_xact_lock_shared/.test(s));
    expect(locks).toHaveLength(1);
    expect(locks[0]).toMatch(/FROM contacts/);
    const configRead = sql.filter((s) => /\bflow_triggers\b/.test(s));
    expect(configRead).toHaveLength(1);
    expect(configRead[0]).toMatch(/INSERT INTO events/);
    expect(configRead[0]).toMatch(/INSERT INTO contacts/);
  });

  it('an event for a contact named by id (an engine caller) still reads the configuration after the activity lock', async () => {
    const contact = (await h.call('POST', '/v1/events', { type: 'cfg.warm', contact: { email: 'byid@example.com' } })).body.contact_id as string;
    statements = [];
    await withTx(h.t.db, (tx) => ingestEvents(tx, h.workspaceId, [{ type: 'cfg.byid', contact: {}, contactId: contact }], { onEventsIngested: h.engine.onEventsIngested }));
    const lockAt = statements.findIndex((s) => /pg_advisory_xact_lock_shared/.test(s));
    const readAt = statements.findIndex((s) => /\bflow_triggers\b/.test(s));
    expect(lockAt).toBeGreaterThanOrEqual(0);
    expect(readAt).toBeGreaterThan(lockAt);
  });

  it('the contact lookup takes the activity lock even when no contact matches', async () => {
    await withTx(h.t.db, async (tx) => {
      let taken = 0;
      await upsertContactsDeferringInsert(tx, h.workspaceId, [{ email: `nobody-${Date.now()}@example.com` }], new Date(), () => '',
        { ...activityLockSharedSql(h.workspaceId), taken: () => taken++ });
      expect(taken).toBe(1);
      const { rows } = await tx.raw(`SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`);
      expect(rows).toEqual([{ mode: 'ShareLock' }]);
    });
  });

  it('with a segment: the contact is evaluated from that read and enters the segment', async () => {
    const created = await h.call('POST', '/v1/segments', { key: 'cfg-pros', name: 'Pros', rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'pro' }] } });
    expect(created.status).toBe(201);
    const sql = await ingestOne({ type: 'cfg.ping', contact: { email: 'pro@example.com', properties: { plan: 'pro' } } });
    // One read for the event, one for the segment.entered it records (an ingestion of its own, in the same transaction).
    expect(sql.filter((s) => CONFIG.test(s))).toHaveLength(2);
    const members = await h.call('GET', '/v1/segments/cfg-pros/contacts?limit=10');
    expect(members.body.items.map((c: { email: string }) => c.email)).toEqual(['pro@example.com']);
  });
});
