import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createDb, type Db } from '../../db/index.ts';
import type { FlowDocument } from '../../contracts/flow.ts';
import { compileFlow } from '../../flow/compile.ts';
import { BatchOwnerRouter } from '../postgres/owners/owner-router.ts';
import { CONTACT_COLUMNS, EVENT_COLUMNS } from '../postgres/runs/store.ts';
import type { Contact, StoredEvent } from '../model.ts';
import { Replay, type BacktestResult } from './replay.ts';

/** Events fetched per round trip from the cursor: memory stays bounded whatever the period holds. */
const FETCH = 5000;
/** How often progress (and the partial result) is written, and a cancel noticed: well under the promised second. */
const REPORT_MS = 250;
const BACKTEST_NICE = 10;

export interface BacktestRow {
  workspace_id: string;
  id: string;
  flow_id: string;
  version: number | null;
  document: FlowDocument;
  period_from: Date;
  period_to: Date;
  sample: number;
  status: string;
}

/** What the thread sends its parent when it stops: the final counts, or that it was cancelled (counts already written). */
export type ThreadMessage = { kind: 'done'; result: BacktestResult; processed: number } | { kind: 'cancelled' };

/**
 * Streams the workspace's events of the period that the flow can react to, in time order (a server-side cursor
 * in one read-only snapshot), through a `Replay`, writing progress and the partial result every 250 ms. A cancel
 * sets the row's status; the replay sees it at its next report and stops, keeping what it had counted.
 */
export async function replayPeriod(db: Db, row: BacktestRow): Promise<ThreadMessage> {
  const ws = row.workspace_id;
  const flow = compileFlow(row.document, { workspaceId: ws, flowId: row.flow_id, version: row.version ?? 0 });
  // One preview router for the whole replay: pools are read, never locked, and its rotation advances in memory only.
  const run = new Replay(flow, new BatchOwnerRouter(db, ws, row.period_from, { preview: true }), row.sample, row.period_from);
  const range = [ws, row.period_from, row.period_to, run.reactsTo()];
  const PERIOD = `workspace_id = ? AND occurred_at >= ? AND occurred_at < ? AND type = ANY(?::text[])`;
  const total = Number((await db.raw(`SELECT count(*) AS n FROM events WHERE ${PERIOD}`, range)).rows[0].n);
  await db('backtests').where({ workspace_id: ws, id: row.id }).update({ total_events: total });

  let processed = 0;
  let lastReport = performance.now();
  const report = async (): Promise<boolean> => {
    lastReport = performance.now();
    const { rows } = await db.raw(
      `UPDATE backtests SET progress = ?, processed_events = ?, result = ? WHERE workspace_id = ? AND id = ? RETURNING status`,
      [total ? Math.min(processed / total, 0.99) : 0, processed, JSON.stringify(run.result), ws, row.id],
    );
    return rows[0]?.status === 'running';
  };

  const finished = await db.transaction(async (trx) => {
    await trx.raw(`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
    await trx.raw(`DECLARE backtest_events NO SCROLL CURSOR FOR SELECT ${EVENT_COLUMNS} FROM events WHERE ${PERIOD} ORDER BY occurred_at, seq`, range);
    for (;;) {
      const events = (await trx.raw(`FETCH ${FETCH} FROM backtest_events`)).rows as StoredEvent[];
      if (events.length === 0) return true;
      const missing = run.contactsToLoad(events);
      const contacts = new Map<string, Contact>();
      if (missing.length) {
        const { rows } = await trx.raw(`SELECT ${CONTACT_COLUMNS} FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) AND erased_at IS NULL`, [ws, missing]);
        for (const c of rows as Contact[]) contacts.set(c.id, c);
      }
      for (const ev of events) {
        // seq is ingestion order, and a backdated event has a later seq than events after it: the executor applies
        // a run's events by seq, so the replay numbers them in its own (time) order.
        ev.seq = ++processed;
        // Whether the contact has an open run is known only now: an earlier event of this batch may have started one.
        if (run.wants(ev)) await run.event(ev, contacts.get(ev.contact_id));
        if (performance.now() - lastReport > REPORT_MS && !(await report())) return false;
      }
    }
  });
  if (!finished) {
    await report();
    return { kind: 'cancelled' };
  }
  return { kind: 'done', result: await run.finish(row.period_to), processed };
}

/**
 * The thread's entry: live work comes first, so the replay runs at a low CPU priority (Linux sets a nice value per
 * thread; elsewhere the call fails and the thread keeps the process's priority). Nice 10 leaves it about a tenth of a
 * core that live work also wants, and all of an idle one; 19 would starve it whenever anything else runs.
 */
async function main(): Promise<void> {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, BACKTEST_NICE);
  } catch {
    // Not Linux: the replay shares the CPU at normal priority.
  }
  const { databaseUrl, row } = workerData as { databaseUrl: string; row: BacktestRow };
  const db = createDb(databaseUrl, { max: 3 });
  try {
    parentPort!.postMessage(await replayPeriod(db, { ...row, period_from: new Date(row.period_from), period_to: new Date(row.period_to) }));
  } finally {
    await db.destroy();
  }
}

if (parentPort && (workerData as { backtest?: boolean } | null)?.backtest) await main();
