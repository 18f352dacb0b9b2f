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

/**
 * Run `fn` in a transaction, retrying on deadlock/serialization failures (safe: the whole transaction is redone).
 * `connection`: a pipelined connection of the caller's own (pipelinedConnection) instead of one from the pool; there
 * `unawaited` statements go out without their answer being waited for.
 */
export async function withTx<T>(db: Db, fn: (tx: Tx) => Promise<T>, attempts = 5, connection?: pg.Client): Promise<T> {
  for (let i = 1; ; i++) {
    const sent: Promise<unknown>[] = [];
    try {
      const result = await db.transaction((tx) => {
        if (connection) unanswered.set(tx, sent);
        return fn(tx);
      }, connection ? { connection } : undefined);
      // COMMIT of a transaction a statement failed in answers ROLLBACK, not an error: the statements' own answers say.
      await Promise.all(sent);
      return result;
    } catch (thrown) {
      // A statement after a failed one fails for that reason alone ("current transaction is aborted"): report the first.
      const first = await firstFailure(sent);
      const err = first ?? thrown;
      const code = pgCode(err);
      if (i < attempts && (code === PG.deadlock || code === PG.serialization)) continue;
      throw err;
    }
  }
}

const unanswered = new WeakMap<Tx, Promise<unknown>[]>();

async function firstFailure(sent: Promise<unknown>[]): Promise<unknown> {
  for (const p of sent) {
    try {
      await p;
    } catch (err) {
      return err;
    }
  }
  return undefined;
}

/**
 * A statement whose answer nothing later in the transaction needs (its rows unused, nothing of JavaScript depending
 * on its effect): in a transaction on a pipelined connection (withTx `connection`) it goes out and the transaction
 * carries on without waiting, so COMMIT follows right behind it, a round trip less; its failure still fails the
 * transaction, and withTx reports it. Anywhere else it is simply awaited.
 */
export async function unawaited(tx: Tx, sql: string, bindings: readonly unknown[]): Promise<void> {
  const sent = unanswered.get(tx);
  if (!sent) {
    await prepared(tx, sql, bindings);
    return;
  }
  // Straight to the connection, not through knex: the statement must be on its way before the transaction goes on
  // to COMMIT, and pg sends it on the call. As `prepared`: a named statement.
  const client = (tx as unknown as { client: { acquireConnection(): Promise<pg.Client>; positionBindings(sql: string): string } }).client;
  const connection = await client.acquireConnection();
  const p = connection.query({ text: client.positionBindings(sql), values: bindings as unknown[], name: statementName(sql) });
  p.catch(() => undefined); // reported by withTx
  sent.push(p);
}

const statementNames = new Map<string, string>();

/**
 * `q.raw(sql, bindings)` as a named prepared statement: each pooled connection has PostgreSQL parse and plan it once,
 * then binds and runs it (with a generic plan once that costs no more than the custom ones, plan_cache_mode auto).
 * For the hot statements of ingestion and the executor, whose planning cost more PostgreSQL CPU than their execution.
 * Only for texts that do not vary without bound: each connection keeps one prepared statement per text for its life.
 */
export function prepared(q: Db | Tx, sql: string, bindings: readonly unknown[]): Knex.Raw {
  return q.raw(sql, bindings as never).options({ name: statementName(sql) });
}

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `cairn_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    if (statementNames.size < 1000) statementNames.set(sql, name);
  }
  return name;
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
export async function runTogether(tx: Tx, parts: readonly SqlPart[], opts: { unawaited?: boolean } = {}): Promise<void> {
  if (parts.length === 0) return;
  const names = parts.map((p, i) => p.name ?? `p${i}`);
  const ctes = parts.map((p, i) => `${names[i]} AS (${p.sql})`).join(',\n');
  const reads = names.map((n) => `(SELECT count(*) FROM ${n})`).join(', ');
  const sql = `WITH ${ctes}\nSELECT ${reads}`;
  const bindings = parts.flatMap((p) => p.bindings);
  if (opts.unawaited) await unawaited(tx, sql, bindings);
  else await prepared(tx, sql, bindings);
}

/**
 * A connection of its own, in pg's pipeline mode, for one caller that runs one transaction at a time (ingestion's
 * group commit, each of the executor's concurrent batches): `withTx(db, fn, attempts, await get())`. Knex waits for
 * a transaction's BEGIN before it sends the first statement; here BEGIN is answered at once and sent with that
 * statement, so PostgreSQL gets both together: a round trip less per transaction. (Should BEGIN fail, the
 * statement after it fails too, and the transaction with it.)
 * Reconnects after the connection is lost; `close` ends it.
 */
export function pipelinedConnection(connectionString: string, applicationName: string, onError: (err: Error) => void) {
  let current: Promise<pg.Client> | null = null;
  let live: pg.Client | null = null;
  const open = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString, application_name: applicationName, pipeline: true } as pg.ClientConfig);
    live = client;
    const lost = (err?: Error) => {
      if (err) onError(err);
      if (live === client) live = current = null;
    };
    client.on('error', lost);
    client.on('end', () => lost());
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
      const cb = rest.find((a) => typeof a === 'function') as ((err: Error | null, res?: unknown) => void) | undefined;
      if (cb && (config as { text?: string })?.text === 'BEGIN;') {
        (query(config) as Promise<unknown>).catch(() => undefined);
        process.nextTick(() => cb(null, { command: 'BEGIN', rows: [], rowCount: null }));
        return undefined;
      }
      return query(config, ...rest);
    };
    await client.connect();
    return client;
  };
  return {
    get(): Promise<pg.Client> {
      current ??= open().catch((err) => {
        current = null;
        throw err;
      });
      return current;
    },
    async close(): Promise<void> {
      const c = current;
      live = current = null;
      if (c) await (await c.catch(() => null))?.end().catch(() => undefined);
    },
  };
}
