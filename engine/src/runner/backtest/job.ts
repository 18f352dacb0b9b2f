import { Worker } from 'node:worker_threads';
import type { Db } from '../../db/index.ts';
import type { Clock } from '../../time/clock.ts';
import type { Logger } from '../../logger.ts';
import type { BacktestJob } from '../../queue/jobs.ts';
import type { BacktestRow, ThreadMessage } from './thread.ts';

/** Replay threads running at once in this process (each holds its own heap, ~100 MB): more backtests wait their turn. */
const MAX_THREADS = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function withThreadSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_THREADS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs one replay in its own thread (thread.ts) and resolves with its last message. */
function replayInThread(databaseUrl: string, row: BacktestRow): Promise<ThreadMessage> {
  return new Promise((resolve, reject) => {
    // Through an entry that registers tsx: a worker gets none of the process's loaders or flags.
    const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), { workerData: { backtest: true, databaseUrl, row }, execArgv: [] });
    let message: ThreadMessage | undefined;
    worker.on('message', (m: ThreadMessage) => { message = m; });
    worker.on('error', reject);
    worker.on('exit', (code) => (message ? resolve(message) : reject(new Error(`the backtest thread exited with code ${code}`))));
  });
}

/**
 * The backtest job. The replay is CPU work over up to millions of events, so it runs in a worker thread at the
 * lowest priority with its own connections: live ingestion and runs on the main thread keep the CPU they need.
 * This side records the outcome (done with the counts, or failed); a cancel is the row's status, seen by the thread.
 */
export function createBacktestTask(deps: { db: Db; databaseUrl: string; clock: Clock; logger: Logger }) {
  const log = deps.logger.child({ component: 'backtest' });
  return async (payload: unknown): Promise<void> => {
    const job = payload as BacktestJob;
    const row = await deps.db('backtests').where({ workspace_id: job.w, id: job.b }).first<BacktestRow>();
    if (!row || row.status !== 'running') return;
    const where = { workspace_id: row.workspace_id, id: row.id, status: 'running' };
    try {
      const outcome = await withThreadSlot(() => replayInThread(deps.databaseUrl, row));
      if (outcome.kind === 'done') {
        await deps.db('backtests').where(where)
          .update({ status: 'done', progress: 1, processed_events: outcome.processed, result: JSON.stringify(outcome.result), finished_at: deps.clock.now() });
      }
    } catch (err) {
      log.error({ err, workspaceId: row.workspace_id, backtestId: row.id }, 'backtest failed');
      await deps.db('backtests').where(where)
        .update({ status: 'failed', error: { code: 'CAIRN_ERR_INTERNAL', message: (err as Error)?.message ?? String(err) }, finished_at: deps.clock.now() });
    }
  };
}
