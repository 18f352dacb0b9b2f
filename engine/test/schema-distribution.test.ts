import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './db.ts';

/**
 * Distribution by workspace (docs/operations.md §Scaling past one PostgreSQL): on Citus, a table distributed by
 * `workspace_id` can only enforce a primary key or unique index that contains `workspace_id`; leading with it also
 * keeps every tenant's rows together in each index. Every table of the migrated schema either leads each of its
 * unique keys with `workspace_id`, or is listed below with the reason and its place in the Citus plan. A new table
 * (or key) fails this test until it does one or the other.
 */
const EXCEPTIONS: Record<string, string> = {
  // Engine-level tables, not tenant data: Citus reference tables (or coordinator-local).
  cairn_migrations: 'engine: applied migrations (coordinator-local)',
  cairn_migrations_lock: 'engine: migration lock (coordinator-local)',
  engine_workers: 'engine: worker-process heartbeats (coordinator-local)',
  workspaces: 'the tenant itself: a reference table, keyed by its id and unique slug',
  users: 'accounts span workspaces (memberships carry workspace_id): reference table',
  sessions: 'a session token is looked up before any workspace is known: reference table',
  api_keys: 'a key is looked up by its prefix before its workspace is known: reference table',
};

interface KeyRow { table: string; index: string; first_column: string | null; definition: string }

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

describe('schema: keys lead with workspace_id (distributable by workspace)', () => {
  it('every primary key and unique index of a tenant table leads with workspace_id, or the table is a listed exception', async () => {
    const { rows } = await t.db.raw(
      `SELECT c.relname AS table, i.relname AS index, a.attname AS first_column, pg_get_indexdef(x.indexrelid) AS definition
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
        WHERE n.nspname = 'public' AND (x.indisprimary OR x.indisunique)
        ORDER BY 1, 2`,
    );
    const keys = rows as KeyRow[];
    expect(keys.length).toBeGreaterThan(20);
    const offending = keys.filter((k) => k.first_column !== 'workspace_id' && !(k.table in EXCEPTIONS));
    expect(offending.map((k) => `${k.table}: ${k.definition}`), 'lead the key with workspace_id, or list the table in EXCEPTIONS with its reason').toEqual([]);
  });

  it('every foreign key between tenant tables carries workspace_id on both sides (Citus co-locates them by it)', async () => {
    const { rows } = await t.db.raw(
      `SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS references, pg_get_constraintdef(c.oid) AS definition,
              (SELECT array_agg(a.attname::text) FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) AS columns,
              (SELECT array_agg(a.attname::text) FROM pg_attribute a WHERE a.attrelid = c.confrelid AND a.attnum = ANY (c.confkey)) AS referenced
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.contype = 'f'`,
    );
    const fks = rows as { table: string; references: string; definition: string; columns: string[]; referenced: string[] }[];
    const between = fks.filter((f) => !(f.references in EXCEPTIONS) && !(f.table in EXCEPTIONS));
    // The flows' children (versions, triggers, timers, enrollments, counters) reference their flow.
    expect(between.length).toBeGreaterThanOrEqual(6);
    const offending = between.filter((f) => !f.columns.includes('workspace_id') || !f.referenced.includes('workspace_id'));
    expect(offending.map((f) => `${f.table}: ${f.definition}`)).toEqual([]);
  });

  it('every listed exception still exists and still needs to be listed (the list does not rot)', async () => {
    const { rows } = await t.db.raw(
      `SELECT c.relname AS table, bool_and(a.attname IS NOT DISTINCT FROM 'workspace_id') AS all_lead
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
        WHERE n.nspname = 'public' AND (x.indisprimary OR x.indisunique)
        GROUP BY 1`,
    );
    const byTable = new Map((rows as { table: string; all_lead: boolean }[]).map((r) => [r.table, r.all_lead]));
    for (const table of Object.keys(EXCEPTIONS)) {
      expect(byTable.has(table), `${table} is listed but has no primary key or unique index (or no longer exists)`).toBe(true);
      expect(byTable.get(table), `${table} now leads every key with workspace_id: remove it from EXCEPTIONS`).toBe(false);
    }
  });

  it('every table of tenant data has a workspace_id column (the distribution column)', async () => {
    const { rows } = await t.db.raw(
      `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped)
        ORDER BY 1`,
    );
    const engineOnly = ['cairn_migrations', 'cairn_migrations_lock'];
    expect((rows as { table: string }[]).map((r) => r.table).filter((x) => !engineOnly.includes(x))).toEqual([]);
  });
});
