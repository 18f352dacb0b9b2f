import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDb } from '../src/db/index.ts';
import { migrateUp, MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { adminQuery, canConnect, quoteIdent, withDatabase } from '../src/db/admin.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';

/**
 * Finds a PostgreSQL (DATABASE_URL, else 127.0.0.1:5432, else an embedded one), builds one template database
 * from the real migrations (named by a hash of them, so it is rebuilt only when they change) and hands its
 * name to the test files, which each clone it (engine/test/db.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let stop = async () => {};
  let adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!(await canConnect(adminUrl))) {
    if (process.env.DATABASE_URL) throw new Error(`DATABASE_URL does not answer: ${process.env.DATABASE_URL}`);
    ({ adminUrl, stop } = await startEmbedded());
  }
  const template = await ensureTemplate(adminUrl);
  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', template);
  return stop;
}

async function migrationsHash(): Promise<string> {
  const h = createHash('sha256');
  for (const f of (await readdir(MIGRATIONS_DIR)).sort()) h.update(f).update(await readFile(path.join(MIGRATIONS_DIR, f)));
  h.update('graphile-worker@0.17.3');
  return h.digest('hex').slice(0, 12);
}

async function ensureTemplate(adminUrl: string): Promise<string> {
  const name = `cairn_tpl_${await migrationsHash()}`;
  const exists = await adminQuery(adminUrl, `SELECT 1 FROM pg_database WHERE datname = '${name}'`);
  if (exists.rowCount) return name;
  // Build under a temporary name and rename, so a half-built template is never used by a parallel run.
  const building = `cairn_tplb_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${quoteIdent(building)}`);
  const url = withDatabase(adminUrl, building);
  const db = createDb(url, { max: 2 });
  try {
    await migrateUp(db, url);
  } finally {
    await db.destroy();
  }
  try {
    await adminQuery(adminUrl, `ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`);
  } catch {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${quoteIdent(building)}`); // another run won the race
  }
  return name;
}

/** No PostgreSQL around (a fresh machine): a throwaway embedded one (engine/src/db/embedded.ts), removed afterwards. */
async function startEmbedded(): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-test-pg-'));
  const server = await startEmbeddedPostgres({ dataDir: dir, port: 0, fastInit: true });
  return {
    adminUrl: server.adminUrl,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
  }
}
