import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runMigrations as runWorkerMigrations } from 'graphile-worker';
import type { Knex } from 'knex';
import type { Db } from './index.ts';

/** `migrations/` at the repository root: the one history of Cairn's schema. */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Loads `NNNN_description.ts` files by dynamic import, so the same files run under tsx, vitest and node. */
class DirectorySource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    const files = await readdir(MIGRATIONS_DIR);
    return files.filter((f) => /^\d{4}_[a-z0-9_]+\.ts$/.test(f)).sort();
  }
  getMigrationName(file: string): string {
    return file.replace(/\.ts$/, '');
  }
  async getMigration(file: string): Promise<MigrationModule> {
    return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as MigrationModule;
  }
}

const config = (): Knex.MigratorConfig => ({ migrationSource: new DirectorySource(), tableName: 'cairn_migrations' });

/** Ours, then graphile-worker's own (which lives in its schema; our migrations never touch it). */
export async function migrateUp(db: Db, connectionString: string): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(config())) as [number, string[]];
  await runWorkerMigrations({ connectionString });
  return applied;
}

/** Rolls back every batch of ours (graphile-worker's schema is dropped too when `all` is set). */
export async function migrateDown(db: Db, opts: { all?: boolean } = {}): Promise<string[]> {
  const [, undone] = (await db.migrate.rollback(config(), opts.all ?? false)) as [number, string[]];
  if (opts.all) await db.raw('DROP SCHEMA IF EXISTS graphile_worker CASCADE');
  return undone;
}

export async function migrationStatus(db: Db): Promise<{ applied: string[]; pending: string[] }> {
  // With a custom migration source knex lists pending migrations as the source's own items (our file names).
  const [applied, pending] = (await db.migrate.list(config())) as [{ name: string }[], (string | { file: string })[]];
  return { applied: applied.map((m) => m.name), pending: pending.map((m) => (typeof m === 'string' ? m : m.file).replace(/\.ts$/, '')) };
}
