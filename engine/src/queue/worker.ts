import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import { Logger as WorkerLogger, run, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import type { Db } from '../db/index.ts';
import type { Logger } from '../logger.ts';

export interface QueueOptions {
  connectionString: string;
  db: Db;
  logger: Logger;
  concurrency: number;
  tasks: TaskList;
}

/** The queue's connections as pg_stat_activity names them. */
export const QUEUE_APPLICATION_NAME = 'cairn-queue';

/** Heartbeat period, and how long a silent engine process is given before its locked jobs are taken back. */
const HEARTBEAT_MS = 2_000;
const DEAD_AFTER_S = 10;

/**
 * graphile-worker with its 0.17 batching (local queue, batched completion) plus a heartbeat: each process
 * records its worker pool id every 2 s, and any process unlocks the jobs of pools silent for 10 s, so work held by a
 * SIGKILLed process resumes in seconds rather than after graphile-worker's 4-hour lock timeout.
 */
export async function startQueue(opts: QueueOptions): Promise<{ stop(): Promise<void> }> {
  const events: WorkerEvents = new EventEmitter() as WorkerEvents;
  const poolIds: string[] = [];
  events.on('pool:create', ({ workerPool }) => poolIds.push(workerPool.id));
  const log = opts.logger.child({ component: 'queue' });
  const logger = new WorkerLogger(() => (level, message, meta) => {
    if (level === 'error') log.error(meta ?? {}, message);
    else if (level === 'warning') log.warn(meta ?? {}, message);
    else log.debug(meta ?? {}, message);
  });
  // The queue's own pool, owned here rather than by graphile-worker: graphile-worker takes its error listeners off the
  // pool it made as soon as it stops but ends that pool without waiting, so a connection the server terminates in that
  // window (a restart, a dropped database) raised an unhandled 'error' and took the process down. These listeners stay
  // until the pool has ended, and stop() waits for that.
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    application_name: QUEUE_APPLICATION_NAME,
    // Sized to the concurrency, as graphile-worker asks: the pool opens connections only when used (with the local
    // queue and batched completion a few at a time, counted in docs/operations.md), so the ceiling costs nothing idle.
    max: Math.max(10, opts.concurrency),
  });
  const onPoolError = (err: Error) => log.warn({ err }, 'queue connection closed by the server');
  pool.on('error', onPoolError);
  pool.on('connect', (client) => client.on('error', onPoolError));
  let runner: Runner;
  try {
    runner = await run({
      pgPool: pool,
      concurrency: opts.concurrency,
      noHandleSignals: true,
      pollInterval: 1000,
      logger,
      events,
      taskList: opts.tasks,
      preset: {
        worker: {
          // After a fetch that found at most one job, the next waits 5-15 ms (ignoring "new job" notifications)
          // instead of following each one: under a steady trickle of jobs (single events, one job per ingestion
          // transaction) they are then fetched two or more at a time and advanced in one executor transaction
          // (group-commit.ts), which took a fifth off the CPU per run in W1 single events. A lone job starts at once.
          localQueue: { size: Math.max(2, opts.concurrency), refetchDelay: { durationMs: 10, threshold: 1 } },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      },
    });
  } catch (err) {
    await pool.end();
    throw err;
  }
  const beat = async () => {
    try {
      await opts.db.raw(
        `INSERT INTO engine_workers (worker_id, host, pid) SELECT id, ?, ? FROM unnest(?::text[]) AS id
         ON CONFLICT (worker_id) DO UPDATE SET heartbeat_at = now()`,
        [hostname(), process.pid, poolIds],
      );
      const { rows } = await opts.db.raw(
        `DELETE FROM engine_workers WHERE heartbeat_at < now() - make_interval(secs => ?) RETURNING worker_id`,
        [DEAD_AFTER_S],
      );
      if (rows.length) {
        const dead = (rows as { worker_id: string }[]).map((r) => r.worker_id);
        await opts.db.raw(`SELECT graphile_worker.force_unlock_workers(?::text[])`, [dead]);
        log.warn({ workerIds: dead }, 'unlocked the jobs of engine processes that stopped heartbeating');
      }
    } catch (err) {
      log.error({ err }, 'heartbeat failed');
    }
  };
  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await runner.stop();
      await pool.end();
      await opts.db.raw(`DELETE FROM engine_workers WHERE worker_id = ANY(?::text[])`, [poolIds]).catch(() => undefined);
    },
  };
}
