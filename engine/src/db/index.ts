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
