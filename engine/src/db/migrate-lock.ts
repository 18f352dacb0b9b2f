import pg from 'pg';

/** Advisory lock key for schema migrations ("cairn" in ASCII); any constant works as long as all processes agree. */
const MIGRATION_LOCK = 0x636169726e;

/**
 * Runs `fn` (migrations) while holding a session-level advisory lock on its own connection, so that engine
 * processes starting together on one PostgreSQL migrate one after the other: the first applies everything, the
 * others find nothing left to do. (knex's own lock table makes the loser fail instead of wait.)
 */
export async function withMigrationLock<T>(databaseUrl: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'cairn-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return await fn();
  } finally {
    // Ending the session releases the lock even if the unlock itself fails.
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}
