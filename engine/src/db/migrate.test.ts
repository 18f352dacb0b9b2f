import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/db.ts';
import { migrateDown, migrateUp, migrationStatus } from './migrate.ts';

describe('migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase(); });
  afterAll(async () => { await t.drop(); });

  it('go down to empty, up again, with every table carrying workspace_id', async () => {
    const before = await migrationStatus(t.db);
    expect(before.pending).toEqual([]);
    expect(before.applied.length).toBeGreaterThan(0);

    await migrateDown(t.db, { all: true });
    const tables = await t.db.raw(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'cairn_migrations' AND table_name <> 'cairn_migrations_lock'`);
    expect(tables.rows[0].n).toBe(0);
    const worker = await t.db.raw(`SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = 'graphile_worker'`);
    expect(worker.rows[0].n).toBe(0);

    await migrateUp(t.db, t.url);
    const after = await migrationStatus(t.db);
    expect(after.applied).toEqual(before.applied);
    const missing = await t.db.raw(`
      SELECT t.table_name FROM information_schema.tables t
      WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
        AND t.table_name NOT IN ('cairn_migrations', 'cairn_migrations_lock')
        AND NOT EXISTS (SELECT 1 FROM information_schema.columns c
                        WHERE c.table_schema = 'public' AND c.table_name = t.table_name AND c.column_name = 'workspace_id')`);
    expect(missing.rows).toEqual([]);
  });
});
