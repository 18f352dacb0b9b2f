import type { Db } from '../../db/index.ts';
import type { FlowDocument } from '../../contracts/flow.ts';
import type { Clock } from '../../time/clock.ts';
import type { Logger } from '../../logger.ts';
import { compileFlow } from '../../flow/compile.ts';
import { BatchOwnerRouter } from '../postgres/owners/owner-router.ts';
import { CONTACT_COLUMNS, EVENT_COLUMNS } from '../postgres/runs/store.ts';
import type { Contact, StoredEvent } from '../model.ts';
import type { BacktestJob } from '../../queue/jobs.ts';
import { Replay } from './replay.ts';

/** Events fetched per round trip from the cursor: memory stays bounded whatever the period holds. */
const FETCH = 5000;
/** How often progress (and the partial result) is written, and a cancel noticed: well under the promised second. */
const REPORT_MS = 250;

interface BacktestRow {
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

/**
 * The backtest job: streams the workspace's events of the period in time order (a server-side cursor in one
 * read-only snapshot) through a `Replay`, writing progress and the partial result every 250 ms. A cancel sets the
 * row's status; the job sees it at its next report and stops, keeping what it had counted.
 */
export function createBacktestTask(deps: { db: Db; clock: Clock; logger: Logger }) {
  const log = deps.logger.child({ component: 'backtest' });
  return async (payload: unknown): Promise<void> => {
    const job = payload as BacktestJob;
    const row = await deps.db('backtests').where({ workspace_id: job.w, id: job.b }).first<BacktestRow>();
    if (!row || row.status !== 'running') return;
    try {
      await replay(deps.db, row, deps.clock);
    } catch (err) {
      log.error({ err, workspaceId: row.workspace_id, backtestId: row.id }, 'backtest failed');
      await deps.db('backtests').where({ workspace_id: row.workspace_id, id: row.id, status: 'running' })
        .update({ status: 'failed', error: { code: 'CAIRN_ERR_INTERNAL', message: (err as Error)?.message ?? String(err) }, finished_at: deps.clock.now() });
    }
  };
}

async function replay(db: Db, row: BacktestRow, clock: Clock): Promise<void> {
  const ws = row.workspace_id;
  const flow = compileFlow(row.document, { workspaceId: ws, flowId: row.flow_id, version: row.version ?? 0 });
  // One preview router for the whole replay: pools are read, never locked, and its rotation advances in memory only.
  const run = new Replay(flow, new BatchOwnerRouter(db, ws, row.period_from, { preview: true }), row.sample, row.period_from);
  const range = [ws, row.period_from, row.period_to];
  const total = Number((await db.raw(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND occurred_at >= ? AND occurred_at < ?`, range)).rows[0].n);
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
    await trx.raw(
      `DECLARE backtest_events NO SCROLL CURSOR FOR
         SELECT ${EVENT_COLUMNS} FROM events WHERE workspace_id = ? AND occurred_at >= ? AND occurred_at < ? ORDER BY occurred_at, seq`,
      range,
    );
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
        // Whether the contact has an open run is known only now: an earlier event of this batch may have started one.
        if (!run.wants(ev)) continue;
        await run.event(ev, contacts.get(ev.contact_id));
        if (performance.now() - lastReport > REPORT_MS && !(await report())) return false;
      }
      processed += events.length;
      if (performance.now() - lastReport > REPORT_MS && !(await report())) return false;
    }
  });
  if (!finished) {
    await report();
    return;
  }
  const result = await run.finish(row.period_to);
  await db('backtests').where({ workspace_id: ws, id: row.id, status: 'running' })
    .update({ status: 'done', progress: 1, processed_events: processed, result: JSON.stringify(result), finished_at: clock.now() });
}
