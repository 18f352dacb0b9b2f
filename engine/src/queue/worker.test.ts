import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/db.ts';
import { createLogger } from '../logger.ts';
import { QUEUE_APPLICATION_NAME, startQueue } from './worker.ts';

describe('the job queue', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase(); });
  afterAll(async () => { await t.drop(); });

  const database = () => new URL(t.url).pathname.slice(1);
  const queueConnections = async () => Number((await t.db.raw(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ? AND application_name = ?`,
    [database(), QUEUE_APPLICATION_NAME],
  )).rows[0].n);

  async function start(done: (n: number) => void, concurrency = 4) {
    const lines: string[] = [];
    const logger = createLogger('warn', new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
    const queue = await startQueue({
      connectionString: t.url, db: t.db, logger, concurrency,
      tasks: { probe: async (payload) => done((payload as { n: number }).n) },
    });
    return { queue, lines };
  }
  const runJob = async (n: number, seen: number[]) => {
    await t.db.raw(`SELECT graphile_worker.add_job('probe', json_build_object('n', ?::int))`, [n]);
    for (let i = 0; i < 100 && !seen.includes(n); i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toContain(n);
  };

  it('a concurrency above 10 starts without graphile-worker\'s pool-size or batch-size warning: the pool is sized to it', async () => {
    // Issue 17: "maxPoolSize (10) smaller than concurrency (32)" was printed at every start; it is resolved by
    // sizing the pool and the local queue to the concurrency, not by hiding warnings (they reach this logger).
    const seen: number[] = [];
    const { queue, lines } = await start((n) => seen.push(n), 32);
    try {
      await runJob(1, seen);
      expect(lines.join('')).not.toMatch(/maxPoolSize|smaller than/);
    } finally {
      await queue.stop();
    }
  });

  it('survives the server closing its connections, and stop() returns only once all of them are closed', async () => {
    const seen: number[] = [];
    const { queue, lines } = await start((n) => seen.push(n));
    await runJob(1, seen);
    expect(await queueConnections()).toBeGreaterThan(0);
    // What an administrator, a failover or DROP DATABASE ... WITH (FORCE) does: the open connections end under it.
    // Unhandled, the 'error' this raises on an idle connection would crash the process (and fail this test file).
    await t.db.raw(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND application_name = ?`,
      [database(), QUEUE_APPLICATION_NAME]);
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.join('')).toContain('terminating connection');
    // The queue goes on with new connections.
    await runJob(2, seen);
    await queue.stop();
    // Nothing of the queue is left connected once stop() resolves, so a caller may drop the database right after.
    expect(await queueConnections()).toBe(0);
  });

  it('stopping while the server ends its connections raises nothing and leaves no pool or connection open', async () => {
    // The window in which a test's DROP DATABASE ... WITH (FORCE) used to catch a stopping queue: graphile-worker had
    // taken its error listeners off a pool that was still open, and the server's "terminating connection" went
    // unhandled. Each delay lands the termination at a different point of stop(); the leak guard checks the pools.
    for (let i = 0; i < 30; i++) {
      const delay = i % 10;
      const seen: number[] = [];
      const { queue } = await start((n) => seen.push(n));
      await runJob(i, seen);
      const stopping = queue.stop();
      await new Promise((r) => setTimeout(r, delay));
      await t.db.raw(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND application_name = ?`,
        [database(), QUEUE_APPLICATION_NAME]);
      await stopping;
      // A backend ended by pg_terminate_backend sends its FATAL before it exits: the client may be gone while the
      // backend still shows for a moment. A connection the queue left open would stay.
      let left = await queueConnections();
      for (let wait = 0; wait < 50 && left > 0; wait++) {
        await new Promise((r) => setTimeout(r, 20));
        left = await queueConnections();
      }
      expect(left).toBe(0);
    }
  });
});
