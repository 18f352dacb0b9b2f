import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/db.ts';
import { refreshStatistics } from './statistics.ts';

describe('table statistics', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase(); });
  afterAll(async () => { await t.drop(); });

  const analyzedRows = async () => Number((await t.db.raw(`SELECT reltuples FROM pg_class WHERE relname = 'contacts' AND relkind = 'r'`)).rows[0].reltuples);
  const waitForStats = async (n: number) => {
    // The cumulative statistics a backend keeps reach pg_stat_user_tables when it is idle; give them a moment.
    for (let i = 0; i < 50; i++) {
      const { rows } = await t.db.raw(`SELECT n_mod_since_analyze AS n FROM pg_stat_user_tables WHERE relname = 'contacts'`);
      if (Number(rows[0].n) >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('analyzes a hot table once it has grown by half since its last analysis, and not before', async () => {
    const { rows: [ws] } = await t.db.raw(`INSERT INTO workspaces (id, slug, name) VALUES (gen_random_uuid(), 'stats', 'Stats') RETURNING id`);
    const insert = (from: number, to: number) => t.db.raw(
      `INSERT INTO contacts (id, workspace_id, email, created_at, updated_at)
       SELECT gen_random_uuid(), ?, 'c' || i || '@example.com', now(), now() FROM generate_series(?::int, ?::int) i`,
      [ws.id, from, to],
    );
    // Autovacuum analyzing the table meanwhile would reset its counter: this test's database leaves it to the keeper.
    await t.db.raw('ALTER TABLE contacts SET (autovacuum_enabled = false)');
    await t.db.raw('ANALYZE contacts');
    await insert(1, 4000);
    await waitForStats(4000);
    expect(await refreshStatistics(t.db)).toContain('contacts');
    expect(await analyzedRows()).toBe(4000);
    // 1,000 more is a quarter of what was analyzed: not yet.
    await insert(4001, 5000);
    await waitForStats(1000);
    expect(await refreshStatistics(t.db)).not.toContain('contacts');
    expect(await analyzedRows()).toBe(4000);
    await insert(5001, 7000);
    await waitForStats(3000);
    expect(await refreshStatistics(t.db)).toContain('contacts');
    expect(await analyzedRows()).toBe(7000);
  });
});
