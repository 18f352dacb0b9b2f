import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/db.ts';
import { MIN_DEAD, VACUUM_SHARE, refreshStatistics, vacuumHotTables } from './maintenance.ts';

describe('table maintenance', () => {
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

  it('vacuums a hot table once its dead rows pass the share of its live rows, and not before', async () => {
    const stats = async () => (await t.db.raw(
      `SELECT n_live_tup::int AS live, n_dead_tup::int AS dead, vacuum_count::int AS vacuums FROM pg_stat_user_tables WHERE relname = 'contacts'`,
    )).rows[0] as { live: number; dead: number; vacuums: number };
    const settle = async (check: (s: { live: number; dead: number }) => boolean) => {
      for (let i = 0; i < 50 && !check(await stats()); i++) await new Promise((r) => setTimeout(r, 100));
    };
    const { rows: [ws] } = await t.db.raw(`INSERT INTO workspaces (id, slug, name) VALUES (gen_random_uuid(), 'vac', 'Vac') RETURNING id`);
    await t.db.raw('ALTER TABLE contacts SET (autovacuum_enabled = false)');
    const { live: already } = await stats();
    await t.db.raw(
      `INSERT INTO contacts (id, workspace_id, email, created_at, updated_at)
       SELECT gen_random_uuid(), ?, 'v' || i || '@example.com', now(), now() FROM generate_series(1, 30000) i`, [ws.id],
    );
    const live = already + 30_000;
    // A table gathering inserts is vacuumed too: a first vacuum for them, then only the updates count.
    await settle((s) => s.live >= live);
    expect(await vacuumHotTables(t.db)).toContain('public.contacts');
    // Updates of contacts as the executor makes them (an owner written), each leaving the old version dead. By row
    // address, in order: an update reading pages of earlier ones would prune their dead rows (PostgreSQL does when it
    // reads a full page) and take them off n_dead_tup, though only a vacuum hands their space to new rows.
    const { rows: addresses } = await t.db.raw(`SELECT ctid::text AS at FROM contacts WHERE workspace_id = ? ORDER BY ctid`, [ws.id]);
    let updated = 0;
    const update = async (n: number) => {
      await t.db.raw(`UPDATE contacts SET updated_at = now() WHERE ctid = ANY(?::tid[])`, [addresses.slice(updated, updated + n).map((r: { at: string }) => r.at)]);
      updated += n;
    };
    const threshold = Math.max(MIN_DEAD, live * VACUUM_SHARE);
    await update(threshold - 1000);
    await settle((s) => s.dead >= threshold - 1000);
    const before = await stats();
    expect(before.dead).toBeGreaterThan(threshold / 2);
    expect(before.dead).toBeLessThan(threshold);
    expect(await vacuumHotTables(t.db)).not.toContain('public.contacts');
    expect((await stats()).vacuums).toBe(before.vacuums);
    await update(2500);
    await settle((s) => s.dead > threshold);
    expect((await stats()).dead).toBeGreaterThan(threshold);
    expect(await vacuumHotTables(t.db)).toContain('public.contacts');
    await settle((s) => s.dead < 100);
    const after = await stats();
    expect(after.vacuums).toBe(before.vacuums + 1);
    expect(after.dead).toBeLessThan(100);
  });
});
