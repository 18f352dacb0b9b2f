import type { Db } from './index.ts';
import type { Logger } from '../logger.ts';

/**
 * The tables ingestion and the executor look rows up in by key, batch after batch. Their plans are only as good as
 * their statistics: a table analyzed while small (or empty, as after the migrations) is planned as if it still were,
 * and lookups of a batch's keys then read every row of the workspace through its workspace index (measured: 300 ms
 * per batch of 1,000 at 100,000 contacts, 1.6 s at 1,000,000, while W2 enrolled).
 */
export const HOT_TABLES = ['contacts', 'events', 'runs', 'run_steps'] as const;

/** A table is analyzed again once the rows changed since its last analysis exceed this share of its size... */
const GROWTH = 0.5;
/** ...and this many rows: small tables are cheap to plan wrongly, and autovacuum gets to them. */
const MIN_CHANGED = 1000;
/** One process at a time analyzes (engine processes share the database). */
const LOCK_KEY = 0x636169726e5f73n; // "cairn_s"

/**
 * Analyzes the hot tables that grew by half or more since their last analysis. Autovacuum would too, after 10%, but
 * it visits a database once per `autovacuum_naptime` (a minute) and may be busy vacuuming: a workspace filling a
 * table from empty (an import, a bulk enrolment) grows it many times over in between. One ANALYZE samples 30,000 rows
 * whatever the size, so this costs a few ANALYZEs per tenfold growth. Returns the tables analyzed.
 */
export async function refreshStatistics(db: Db): Promise<string[]> {
  return db.transaction(async (tx) => {
    const { rows: locked } = await tx.raw('SELECT pg_try_advisory_xact_lock(?::bigint) AS ok', [LOCK_KEY.toString()]);
    if (!locked[0].ok) return [];
    const { rows } = await tx.raw(
      `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.schemaname = current_schema() AND s.relname = ANY(?::text[])
          AND s.n_mod_since_analyze > greatest(?::bigint, (greatest(c.reltuples, 0) * ?)::bigint)`,
      [[...HOT_TABLES], MIN_CHANGED, GROWTH],
    );
    const tables = (rows as { relname: (typeof HOT_TABLES)[number] }[]).map((r) => r.relname);
    // Names come from the fixed list above, never from input.
    for (const table of tables) await tx.raw(`ANALYZE ${HOT_TABLES.find((t) => t === table)!}`);
    return tables;
  });
}

/** Checks every `everyMs` (wall time, whatever the engine's clock) until stopped. */
export function startStatisticsKeeper(db: Db, logger: Logger, everyMs = 5000): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => refreshStatistics(db)).then(
      (tables) => { if (tables.length) logger.debug({ tables }, 'analyzed tables that grew'); },
      (err: unknown) => logger.warn({ err: (err as Error)?.message }, 'could not refresh table statistics'),
    );
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
