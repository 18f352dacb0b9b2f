import type { EngineContext } from '../context.ts';
import type { OnEventsIngested } from '../crm/event-hooks.ts';
import { isManual } from '../time/clock.ts';
import { CairnError } from '../errors.ts';
import { ingestEvents } from '../crm/events.ts';
import type { TaskList } from 'graphile-worker';
import { startQueue } from '../queue/worker.ts';
import { ACTION_TASK, BACKTEST_TASK, CONTACTS_TASK, SEGMENT_TASK, pendingJobs, type ActionJob, type ContactsJob, type SegmentJob } from '../queue/jobs.ts';
import { createBacktestTask } from './backtest/job.ts';
import type { ActionRegistry, ExternalAction, FlowEngineAdapters, FlowSource } from './ports.ts';
import { GroupCommit } from '../group-commit.ts';
import { createSegmentMaintainer, type SegmentMaintainer } from '../crm/segments/membership.ts';
import { createActionRunner } from './external.ts';
import { advanceBatch, type ContactRequest } from './batch.ts';
import { createPrograms, type RecordProgramEvents } from '../crm/programs.ts';
import { readIngestConfig } from '../crm/ingest-config.ts';

/** How often the timer poller prunes history (step detail, events) under the system clock (the test clock prunes as it moves). */
const PRUNE_EVERY_MS = 10 * 60_000;

const earliest = (a: Date | null, b: Date | null): Date | null => (a && b ? (a < b ? a : b) : (a ?? b));

/** The flow engine as the runtime sees it: the ingestion hook that starts runs, and the workers that advance them. */
export interface FlowEngine {
  onEventsIngested: OnEventsIngested;
  /** Segment membership: contact changes outside ingestion (PATCH, upserts, flow actions) go through `segments.refresh`. */
  segments: SegmentMaintainer;
  /** Compiled flow versions. */
  flows: FlowSource;
  /** Starts graphile-worker and the timer poller in this process. */
  start(): Promise<void>;
  /** Stops taking work, lets running jobs finish, releases connections. */
  stop(): Promise<void>;
  /** Manual clock only: moves time to `to`, firing every due timer in order, and returns once all work has settled. */
  advanceClock(to: Date): Promise<void>;
  /** Resolves when no job of ours is runnable or running (any process) and this process has nothing in flight. */
  drain(timeoutMs?: number): Promise<void>;
}

export interface FlowEngineOptions {
  /** Storage, enrollment, timers and the queue, as ports (runtime.ts builds them over PostgreSQL). */
  adapters: FlowEngineAdapters;
  /** Resolves plugin actions (`plugin:<id>/<key>`); the plugin platform provides it. */
  registry?: ActionRegistry;
  /** The built-in external actions (`action.webhook`, `action.send_email`). Wired in runtime.ts. */
  builtins?: Record<string, ExternalAction>;
  /** More graphile-worker tasks (the plugin triggers'), given the ingestion hook. Wired in runtime.ts. */
  tasks?: (onEventsIngested: OnEventsIngested) => TaskList;
}

export function createFlowEngine(ctx: EngineContext, opts: FlowEngineOptions): FlowEngine {
  const { adapters } = opts;
  const { flows, enroll, timers } = adapters;
  const log = ctx.logger.child({ component: 'runner' });
  // Lifecycle programs see events before enrollment (a trigger's `when` may read the new score); the events they
  // record (lead.qualified, reward.granted...) go through ingestion again, so flows can start on them.
  const recordProgramEvents: RecordProgramEvents = async (tx, workspaceId, events) => {
    await ingestEvents(
      tx, workspaceId,
      events.map((e) => ({ type: e.type, contact: {}, contactId: e.contactId, properties: e.properties as never, idempotency_key: e.key, source: 'program' })),
      { onEventsIngested },
      { now: ctx.clock.now() },
    );
  };
  const programs = createPrograms({
    db: ctx.db, clock: ctx.clock, record: recordProgramEvents,
    // Decay moves scores without an event: segments that read `$.score` follow (called after `segments` exists).
    scoresChanged: (tx, workspaceId, ids, now) => segments.refreshScored(tx, workspaceId, ids, now),
  });
  // Segment transitions (segment.entered/exited) are recorded through the whole hook, so programs and flows see them.
  const segments = createSegmentMaintainer({ emitHook: (tx, workspaceId, events, config) => onEventsIngested(tx, workspaceId, events, config), clock: ctx.clock });
  const onEventsIngested: OnEventsIngested = async (tx, workspaceId, events, preread) => {
    // One read of what programs and segments need to know about the workspace, for both of them (or none, when the
    // event insert read it).
    const config = preread ?? await readIngestConfig(tx, workspaceId, events);
    const derived = await programs.onEvents(tx, workspaceId, events, config);
    // After programs (a rule may read the score they just changed), before enrollment (as in one transaction).
    await segments.onEvents(tx, workspaceId, events, config);
    await enroll(tx, workspaceId, events, config.triggers);
    if (derived.length > 0) await recordProgramEvents(tx, workspaceId, derived);
  };

  const batcher = new GroupCommit<ContactRequest>(
    async (workspaceId, requests) => {
      const started = performance.now();
      const r = await adapters.transact((tx) =>
        advanceBatch(tx, workspaceId, requests, {
          store: adapters.store,
          jobs: adapters.jobs,
          flows,
          now: ctx.clock.now(),
          contactsChanged: segments.refresh,
          emit: async (t, ws, events) => {
            await ingestEvents(
              t,
              ws,
              events.map((e) => ({ type: e.type, contact: {}, contactId: e.contact.id, properties: e.properties as never, idempotency_key: e.idempotencyKey, source: 'flow' })),
              { onEventsIngested },
              { now: ctx.clock.now() },
            );
          },
        }),
      );
      log.debug({ workspaceId, contacts: requests.length, runs: r.runs, steps: r.steps, phasesMs: r.phasesMs, durationMs: Math.round(performance.now() - started) }, 'batch committed');
    },
    // 500 contacts a batch, a batch ingestion's job: jobs fetched together (group-commit.ts gathers them) merge only
    // while small, so two batches in flight never hold more than 1,000 contacts' runs (engine RSS < 200 MB under W1).
    { maxBatch: 500, maxConcurrent: 2 },
  );
  const submit = async (workspaceId: string, requests: ContactRequest[]) => { await batcher.submit(workspaceId, requests); };

  const runAction = createActionRunner({
    calls: adapters.calls,
    clock: ctx.clock,
    builtins: opts.builtins ?? {},
    registry: opts.registry,
    submit,
    logger: log,
    wallTimeMs: 120_000,
  });

  let queue: { stop(): Promise<void> } | null = null;
  let poller: { stop(): Promise<void> } | null = null;

  const drain = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await batcher.whenIdle();
      if ((await pendingJobs(ctx.db)) === 0 && batcher.idle) return;
      if (Date.now() > deadline) throw new CairnError('CAIRN_ERR_UNAVAILABLE', `work did not settle within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  return {
    onEventsIngested,
    segments,
    flows,
    drain,
    async start() {
      queue = await startQueue({
        connectionString: ctx.databaseUrl,
        db: ctx.db,
        logger: ctx.logger,
        concurrency: ctx.config.workerConcurrency,
        tasks: {
          [CONTACTS_TASK]: async (payload) => {
            const p = payload as ContactsJob;
            await submit(p.w, p.c.map((contactId) => ({ contactId })));
          },
          [ACTION_TASK]: async (payload) => runAction(payload as ActionJob),
          [BACKTEST_TASK]: createBacktestTask({ db: ctx.db, databaseUrl: ctx.databaseUrl, clock: ctx.clock, logger: log }),
          [SEGMENT_TASK]: async (payload) => segments.evaluate(ctx.db, payload as SegmentJob, () => ctx.clock.now()),
          ...opts.tasks?.(onEventsIngested),
        },
      });
      let lastPrune = 0;
      const prune = async (now: Date) => {
        if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
        lastPrune = Date.now();
        await timers.pruneHistory(now, log);
      };
      if (!isManual(ctx.clock)) {
        poller = timers.startPoller({ segments, logger: log, also: async (now) => { await programs.fireDue(now); await prune(now); } });
      }
    },
    async stop() {
      await poller?.stop();
      await queue?.stop();
      await batcher.whenIdle();
      await adapters.close?.();
      poller = queue = null;
    },
    async advanceClock(to) {
      const clock = ctx.clock;
      if (!isManual(clock)) throw new CairnError('CAIRN_ERR_NOT_FOUND', 'the test clock is not enabled (CAIRN_CLOCK=manual)');
      if (to.getTime() < clock.now().getTime()) {
        throw new CairnError('CAIRN_ERR_VALIDATION', 'the test clock never moves backwards', { errors: [{ path: '/to', message: 'is before the current test time' }] });
      }
      await drain();
      for (;;) {
        const wakes = await timers.nextWakes(to);
        const others = earliest(wakes.others, await programs.nextDue(to));
        // Segment wake-ups before anything else is due fire in batches, each contact at its own due time (a step
        // per distinct time would cost a step per contact); runs they start begin at the batch's last due time.
        if (wakes.segments && (!others || wakes.segments < others)) {
          const limit = others ? new Date(Math.min(others.getTime() - 1, to.getTime())) : to;
          await segments.fireDueBatch(ctx.db, limit, (t) => {
            if (t > clock.now()) clock.set(t);
            return clock.now();
          });
          await drain();
          continue;
        }
        const next = earliest(wakes.segments, others);
        if (!next) break;
        if (next.getTime() > clock.now().getTime()) clock.set(next);
        if ((await timers.fireAllDue(segments, clock.now())) + (await programs.fireDue(clock.now())) > 0) await drain();
      }
      clock.set(to);
      await programs.fireDue(to);
      await drain();
      await timers.pruneHistory(to, log);
    },
  };
}
