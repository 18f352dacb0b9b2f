import { createHash } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

export type { Knex };
export type Db = Knex;
export type Tx = Knex.Transaction;

// Return bigint columns (counters, event seq) as JS numbers: they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// NUMERIC (contact score) as numbers too.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

/** The one database handle: knex over node-postgres. Raw SQL goes through `db.raw` so there is one way in. */
export function createDb(connectionString: string, opts: { max?: number; min?: number } = {}): Db {
  return knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: 'cairn' },
    pool: { min: opts.min ?? 0, max: opts.max ?? 10 },
    // Migrations are driven explicitly by db/migrate.ts.
  });
}

/** PostgreSQL error codes we react to. */
export const PG = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  deadlock: '40P01',
  serialization: '40001',
  invalidText: '22P02',
} as const;

export function pgCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Run `fn` in a transaction, retrying on deadlock/serialization failures (safe: the whole transaction is redone). */
export async function withTx<T>(db: Db, fn: (tx: Tx) => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      const code = pgCode(err);
      if (i < attempts && (code === PG.deadlock || code === PG.serialization)) continue;
      throw err;
    }
  }
}

const statementNames = new Map<string, string>();

/**
 * `q.raw(sql, bindings)` as a named prepared statement: each pooled connection has PostgreSQL parse and plan it once,
 * then binds and runs it (with a generic plan once that costs no more than the custom ones, plan_cache_mode auto).
 * For the hot statements of ingestion and the executor, whose planning cost more PostgreSQL CPU than their execution.
 * Only for texts that do not vary without bound: each connection keeps one prepared statement per text for its life.
 */
export function prepared(q: Db | Tx, sql: string, bindings: readonly unknown[]): Knex.Raw {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `cairn_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    if (statementNames.size < 1000) statementNames.set(sql, name);
  }
  return q.raw(sql, bindings as never).options({ name });
}

/**
 * A data-modifying statement (`INSERT`, `UPDATE` or `DELETE` with a `RETURNING` clause) or a `SELECT`, with its `?`
 * bindings, meant to run together with others through `runTogether`. `name` lets a later part read its rows.
 */
export interface SqlPart {
  sql: string;
  bindings: unknown[];
  name?: string;
}

/**
 * Runs the parts as ONE statement, each part a CTE read to its end in the order given: one round trip to PostgreSQL
 * instead of one per part (on TCP loopback a round trip costs more CPU, on both sides, than a small write itself).
 * All parts see the database as it was when the statement started: no part may depend on another's effect on a
 * table, nor two parts modify the same row. A part may read the rows an earlier named part returns. Prepared: the
 * combinations of parts one caller makes are few.
 */
export async function runTogether(tx: Tx, parts: readonly SqlPart[]): Promise<void> {
  if (parts.length === 0) return;
  const names = parts.map((p, i) => p.name ?? `p${i}`);
  const ctes = parts.map((p, i) => `${names[i]} AS (${p.sql})`).join(',\n');
  const reads = names.map((n) => `(SELECT count(*) FROM ${n})`).join(', ');
  await prepared(tx, `WITH ${ctes}\nSELECT ${reads}`, parts.flatMap((p) => p.bindings));
}
