import type { Config } from '../config/index.ts';
import { createDb, type Db } from '../db/index.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { migrationStatus } from '../db/migrate.ts';
import type { Logger } from '../logger.ts';

export interface OpenDatabase {
  url: string;
  db: Db;
  /** The embedded server, when DATABASE_URL is unset. */
  embedded: EmbeddedPostgres | null;
  /** Destroys the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}

/**
 * DATABASE_URL, or the embedded PostgreSQL under the data directory. Administrative commands share a server
 * that a running `cairn start` owns (`share`), so `keys create` works next to it.
 */
export async function openDatabase(config: Readonly<Config>, logger: Logger, opts: { share: boolean }): Promise<OpenDatabase> {
  const embedded = config.databaseUrl === null
    ? await startEmbeddedPostgres({ dataDir: config.dataDir, logger, shareRunning: opts.share })
    : null;
  const url = config.databaseUrl ?? embedded!.url;
  const db = createDb(url);
  let closed: Promise<void> | null = null;
  return {
    url,
    db,
    embedded,
    close: () => {
      closed ??= (async () => {
        await db.destroy();
        await embedded?.stop();
      })();
      return closed;
    },
  };
}

/** Administrative commands need the current schema; they do not migrate behind the operator's back. */
export async function assertMigrated(db: Db): Promise<void> {
  const { pending } = await migrationStatus(db);
  if (pending.length > 0) {
    throw new Error(`the database has ${pending.length} pending migration(s) (${pending.join(', ')}); run: pnpm cairn migrate`);
  }
}
