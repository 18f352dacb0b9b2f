import type { Db } from './index.ts';
import type { Logger } from '../logger.ts';

/**
 * The tables ingestion and the executor look rows up in by key, batch after batch. Their plans are only as good as
 * their statistics: a table analyzed while small (or empty, as after the migrations) is planned as if it still were,
 * and lookups of a batch's keys then read every row of the workspace through its workspace index (measured: 300 ms
 * per batch of 1,000 at 100,000 contacts, 1.6 s at 1,000,000, while W2 enrolled).
 */
export const HOT_TABLES = ['contacts', 'events', 'runs', 'run_steps', 'owner_leads'] as const;

/**
 * The tables the keeper vacuums: the hot tables, whose rows are inserted and then updated once (a contact by its
 * owner or tag, a run at its completion), and graphile-worker's jobs, inserted and deleted by the thousand. Each
 * update or delete leaves the old version's space behind; PostgreSQL gives it to new rows only once VACUUM has
 * recorded it in the free space map.
 */
export const VACUUMED_TABLES = [
  ...HOT_TABLES.map((name) => ({ schema: null, name })),
  { schema: 'graphile_worker', name: '_private_jobs' },
] as const;

/** A table is analyzed again once the rows changed since its last analysis exceed this share of its size... */
const GROWTH = 0.5;
/** ...and this many rows: small tables are cheap to plan wrongly, and autovacuum gets to them. */
const MIN_CHANGED = 1000;
/**
 * A table is vacuumed once its dead rows, or the rows inserted since its last vacuum, exceed this share of its live
 * rows (autovacuum's default is 20%, and it waits for its next visit)... Space left by updates is unusable until then,
 * so the share bounds the waste to a few percent of the table; each VACUUM reads only the pages changed since the last
 * (the visibility map) and the indexes, so a share keeps its cost proportional to the rows written.
 */
export const VACUUM_SHARE = 0.1;
/** ...and this many rows. */
export const MIN_DEAD = 1000;
/** One process at a time maintains (engine processes share the database). */
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

interface PgConnection { query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> }

/**
 * Vacuums (plain VACUUM, never FULL: it takes no lock that inserts, updates or reads wait on) the tables of
 * `VACUUMED_TABLES` whose dead rows or rows inserted since their last vacuum exceed `VACUUM_SHARE` of their live rows
 * and `MIN_DEAD`, so the space of the versions updates left behind goes to new rows whether or not the server's
 * autovacuum is on or keeping up. A table being vacuumed by autovacuum is skipped (SKIP_LOCKED). VACUUM cannot run in
 * a transaction, so the one-process-at-a-time lock is a session lock on a connection held for the duration. Returns
 * the tables vacuumed, schema-qualified.
 */
export async function vacuumHotTables(db: Db): Promise<string[]> {
  const conn = (await db.client.acquireConnection()) as PgConnection;
  try {
    const { rows: locked } = await conn.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [LOCK_KEY.toString()]);
    if (!locked[0]!.ok) return [];
    try {
      const { rows } = await conn.query(
        `SELECT format('%I.%I', s.schemaname, s.relname) AS name FROM pg_stat_user_tables s
          WHERE format('%I.%I', s.schemaname, s.relname) = ANY($1::text[])
            AND greatest(s.n_dead_tup, s.n_ins_since_vacuum) > greatest($2::bigint, (s.n_live_tup * $3::float8)::bigint)`,
        [await qualifiedNames(conn), MIN_DEAD, VACUUM_SHARE],
      );
      const tables = rows.map((r) => String(r.name));
      // Names come from the fixed list, quoted by format(%I), never from input.
      for (const table of tables) await conn.query(`VACUUM (SKIP_LOCKED) ${table}`);
      return tables;
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1::bigint)', [LOCK_KEY.toString()]);
    }
  } finally {
    await db.client.releaseConnection(conn);
  }
}

async function qualifiedNames(conn: PgConnection): Promise<string[]> {
  const { rows } = await conn.query(
    `SELECT format('%I.%I', coalesce(t.schema, current_schema()), t.name) AS name
       FROM jsonb_to_recordset($1::jsonb) AS t(schema text, name text)`,
    [JSON.stringify(VACUUMED_TABLES)],
  );
  return rows.map((r) => String(r.name));
}

/**
 * Every `everyMs` (wall time, whatever the engine's clock) until stopped: analyzes the hot tables that grew and
 * vacuums those that gathered dead rows (docs/operations.md, Storage and sizing and Table statistics).
 */
export function startMaintenanceKeeper(db: Db, logger: Logger, everyMs = 5000): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => refreshStatistics(db)).then(
        (tables) => { if (tables.length) logger.debug({ tables }, 'analyzed tables that grew'); },
        (err: unknown) => logger.warn({ err: (err as Error)?.message }, 'could not refresh table statistics'),
      )
      .then(() => vacuumHotTables(db)).then(
        (tables) => { if (tables.length) logger.debug({ tables }, 'vacuumed tables with dead rows'); },
        (err: unknown) => logger.warn({ err: (err as Error)?.message }, 'could not vacuum tables'),
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
