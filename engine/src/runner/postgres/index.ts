import { pipelinedConnection, withTx, type Db } from '../../db/index.ts';
import type { Clock } from '../../time/clock.ts';
import type { Logger } from '../../logger.ts';
import { createRunCommands, type RunCommands } from '../commands.ts';
import type { DryRunReads, FlowEngineAdapters } from '../ports.ts';
import type { Contact } from '../model.ts';
import { activityReader, flowActivityNeeds, loadActivity } from '../../crm/segments/activity.ts';
import { FlowCache } from './flows/flow-cache.ts';
import { BatchOwnerRouter } from './owners/owner-router.ts';
import { pruneHistory } from './runs/retention.ts';
import { createCallStore } from './runs/calls.ts';
import { createEnrollment } from './runs/enroll.ts';
import { createBatchStore, postgresJobQueue, postgresRunStore } from './runs/store.ts';
import { fireAllDue, nextWakes, startTimerPoller } from './runs/timers.ts';
// Erasure reaches runs and run steps through the step the runner registers with crm/erasure.ts.
import './runs/erasure.ts';

export { checkRetention, loadRetention, putRetention, retentionBodySchema, retentionSchema, type RetentionSettings } from './runs/retention.ts';

/** Built by runtime.ts: the flow engine's ports over PostgreSQL, sharing one compiled-flow cache (the email action reads it too). */
export interface PostgresFlowAdapters extends FlowEngineAdapters {
  flows: FlowCache;
}

export function createPostgresFlowAdapters(deps: { db: Db; clock: Clock; logger: Logger; databaseUrl?: string }): PostgresFlowAdapters {
  const { db, clock } = deps;
  const flows = new FlowCache();
  // The executor's batches (two at a time, runner/index.ts) on pipelined connections of their own: BEGIN goes with
  // the first statement and COMMIT right behind the write (db/index.ts pipelinedConnection, unawaited).
  const pipelined = deps.databaseUrl
    ? [1, 2].map(() => pipelinedConnection(deps.databaseUrl!, 'cairn-executor', (err) => deps.logger.warn({ err }, 'executor connection lost')))
    : [];
  const free = [...pipelined];
  return {
    transact: async (fn) => {
      const connection = free.pop();
      if (!connection) return withTx(db, fn);
      try {
        return await withTx(db, fn, 5, await connection.get());
      } finally {
        free.push(connection);
      }
    },
    close: async () => {
      await Promise.all(pipelined.map((c) => c.close()));
    },
    flows,
    store: createBatchStore(flows),
    calls: createCallStore(db, flows),
    jobs: postgresJobQueue,
    enroll: createEnrollment({ flows, clock, logger: deps.logger }),
    timers: {
      nextWakes: (limit) => nextWakes(db, limit),
      fireAllDue: (segments, now) => fireAllDue(db, flows, segments, now),
      startPoller: (opts) => startTimerPoller({ db, flows, clock, ...opts }),
      pruneHistory: (now, logger) => pruneHistory(db, now, logger),
    },
  };
}

/** The run commands (runner/commands.ts) over PostgreSQL, as the runs API uses them. */
export const postgresRunCommands = (ctx: { db: Db; clock: Clock }): RunCommands =>
  createRunCommands({ transact: (fn) => withTx(ctx.db, fn), clock: ctx.clock, runs: postgresRunStore, jobs: postgresJobQueue });

/** What the dry run (runner/dry-run.ts) reads, over PostgreSQL. */
export function postgresDryRunReads(db: Db): DryRunReads {
  return {
    async contact(workspaceId, contactId) {
      const found = await db('contacts').where({ workspace_id: workspaceId, id: contactId }).whereNull('erased_at').first<Contact | undefined>();
      // ISO 8601, as the API answers every time (String(date) would be the local, human form).
      return found && { ...found, created_at: new Date(found.created_at).toISOString(), updated_at: new Date(found.updated_at).toISOString() };
    },
    async activity(flow, contactId, now) {
      const stored = await loadActivity(db, flow.workspaceId, [contactId], flowActivityNeeds([flow.activity], now));
      return (id) => activityReader(stored.get(id), now);
    },
    previewRouter: (workspaceId, now) => new BatchOwnerRouter(db, workspaceId, now, { preview: true }),
  };
}
