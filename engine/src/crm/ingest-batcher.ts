import type { EngineContext } from '../context.ts';
import { pipelinedConnection, withTx, type Tx } from '../db/index.ts';
import { GroupCommit } from '../group-commit.ts';
import type { OnEventsIngested } from './event-hooks.ts';
import { ingestEvents, type EventInput, type IngestResult } from './events.ts';

type Outcome = { ok: true; result: IngestResult } | { ok: false; error: unknown };

/**
 * Single events posted concurrently are ingested together: one transaction (and one WAL flush) for all the
 * requests that arrived while the previous one committed, instead of one each. If the shared transaction fails
 * for any reason (one request's data, or a bug that one event's data reaches), each request is retried alone so
 * only the request that causes it gets the error; the others are accepted.
 */
export function createIngestBatcher(ctx: EngineContext, hooks: { onEventsIngested?: OnEventsIngested }) {
  const log = ctx.logger.child({ component: 'ingest' });
  // One transaction at a time (below), so one connection of its own, with BEGIN sent together with the first statement.
  const connection = pipelinedConnection(ctx.databaseUrl, 'cairn-ingest', (err) => log.warn({ err }, 'ingestion connection lost'));
  const tx = async <T>(fn: (tx: Tx) => Promise<T>) => withTx(ctx.db, fn, 5, await connection.get());
  const ingestAlone = async (workspaceId: string, item: EventInput): Promise<Outcome> => {
    try {
      const [result] = await tx((t) => ingestEvents(t, workspaceId, [item], hooks, { now: ctx.clock.now(), pathOf: () => '' }));
      return { ok: true, result: result! };
    } catch (error) {
      return { ok: false, error };
    }
  };
  const group = new GroupCommit<EventInput, Outcome>(
    async (workspaceId, items) => {
      if (items.length === 1) return [await ingestAlone(workspaceId, items[0]!)];
      try {
        const results = await tx((t) => ingestEvents(t, workspaceId, items, hooks, { now: ctx.clock.now(), pathOf: () => '' }));
        return results.map((result) => ({ ok: true as const, result }));
      } catch {
        const outcomes: Outcome[] = [];
        for (const item of items) outcomes.push(await ingestAlone(workspaceId, item));
        return outcomes;
      }
    },
    // One transaction at a time: the requests that arrive while it commits form the next, larger one. Two at once
    // halved the batches (more statements per event) and doubled the latency under W1 single-event load.
    { maxBatch: 200, maxConcurrent: 1 },
  );
  return {
    /** Ends the connection (after the requests in flight). */
    async close(): Promise<void> {
      await group.whenIdle();
      await connection.close();
    },
    async ingest(workspaceId: string, item: EventInput): Promise<IngestResult> {
      const [outcome] = await group.submit(workspaceId, [item]);
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.result;
    },
  };
}
