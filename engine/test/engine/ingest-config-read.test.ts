import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../engine-harness.ts';

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
    // begin, contact upsert (2), event insert (taking the activity lock), configuration read (with the flow triggers),
    // run insert + job, commit.
    expect(sql.length).toBeLessThanOrEqual(7);
    expect(sql.filter((s) => /pg_advisory_xact_lock_shared/.test(s))).toHaveLength(1);
    expect(sql.filter((s) => /\bflow_triggers\b/.test(s))).toHaveLength(1);
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
