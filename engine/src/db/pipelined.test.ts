import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/db.ts';
import { pgCode, pipelinedConnection, unawaited, withTx } from './index.ts';

describe('transactions on a pipelined connection (db/index.ts pipelinedConnection, unawaited)', () => {
  let t: TestDatabase;
  const lost: Error[] = [];
  let connection: ReturnType<typeof pipelinedConnection>;
  beforeAll(async () => {
    t = await createTestDatabase();
    connection = pipelinedConnection(t.url, 'cairn-test-pipelined', (err) => lost.push(err));
    await t.db.raw(`CREATE TABLE pipelined (id int PRIMARY KEY)`);
    // Fails with a serialization failure the first time it is called, then succeeds (a sequence is not transactional).
    await t.db.raw(`CREATE SEQUENCE fail_once_calls`);
    await t.db.raw(`CREATE FUNCTION fail_once() RETURNS int LANGUAGE plpgsql AS $$
      BEGIN IF nextval('fail_once_calls') = 1 THEN RAISE EXCEPTION 'serialization' USING ERRCODE = '40001'; END IF; RETURN 1; END $$`);
  });
  afterAll(async () => {
    await connection.close();
    await t.drop();
  });
  const ids = async () => (await t.db.raw(`SELECT id FROM pipelined ORDER BY id`)).rows.map((r: { id: number }) => r.id);

  it('runs the statements in one transaction (BEGIN not waited for) and commits what was sent unawaited', async () => {
    const xids = await withTx(t.db, async (tx) => {
      const first = (await tx.raw(`SELECT txid_current() AS x`)).rows[0].x;
      await unawaited(tx, `INSERT INTO pipelined (id) VALUES (?)`, [1]);
      const second = (await tx.raw(`SELECT txid_current() AS x`)).rows[0].x;
      return [first, second];
    }, 5, await connection.get());
    expect(xids[0]).toBe(xids[1]);
    expect(await ids()).toEqual([1]);
  });

  it('a failed unawaited statement fails the transaction with its own error, not the "transaction is aborted" of the next', async () => {
    const attempt = withTx(t.db, async (tx) => {
      await unawaited(tx, `INSERT INTO pipelined (id) VALUES (?)`, [1]); // duplicate key
      await tx.raw(`INSERT INTO pipelined (id) VALUES (2)`);
    }, 5, await connection.get());
    const err = await attempt.catch((e: unknown) => e);
    expect(pgCode(err)).toBe('23505');
    expect(await ids()).toEqual([1]);
  });

  it('also when it is the last statement: COMMIT then answers ROLLBACK, and nothing is committed', async () => {
    const err = await withTx(t.db, async (tx) => {
      await tx.raw(`INSERT INTO pipelined (id) VALUES (3)`);
      await unawaited(tx, `INSERT INTO pipelined (id) VALUES (?)`, [1]);
    }, 5, await connection.get()).catch((e: unknown) => e);
    expect(pgCode(err)).toBe('23505');
    expect(await ids()).toEqual([1]);
  });

  it('a serialization failure of an unawaited statement redoes the transaction', async () => {
    await withTx(t.db, async (tx) => {
      await tx.raw(`INSERT INTO pipelined (id) VALUES (4)`);
      await unawaited(tx, `SELECT fail_once()`, []);
    }, 5, await connection.get());
    expect(await ids()).toEqual([1, 4]);
    expect(Number((await t.db.raw(`SELECT last_value FROM fail_once_calls`)).rows[0].last_value)).toBe(2);
  });

  it('outside such a transaction, unawaited waits for the answer as any statement does', async () => {
    const err = await withTx(t.db, async (tx) => {
      await unawaited(tx, `INSERT INTO pipelined (id) VALUES (?)`, [1]).catch((e: unknown) => { throw Object.assign(new Error('seen here'), { cause: e }); });
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe('seen here');
  });

  it('a connection the server closes is replaced by the next get()', async () => {
    const before = await connection.get();
    await t.db.raw(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cairn-test-pipelined' AND datname = current_database()`);
    for (let i = 0; i < 50 && (await connection.get()) === before; i++) await new Promise((r) => setTimeout(r, 20));
    const after = await connection.get();
    expect(after).not.toBe(before);
    expect(lost.length).toBeGreaterThan(0);
    await withTx(t.db, (tx) => unawaited(tx, `INSERT INTO pipelined (id) VALUES (?)`, [5]), 5, after);
    expect(await ids()).toEqual([1, 4, 5]);
  });
});
