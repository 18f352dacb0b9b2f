import type { Json } from '../contracts/flow.ts';
import type { Tx } from '../db/index.ts';
import type { CairnError } from '../errors.ts';
import type { CompiledFlow } from '../flow/compile.ts';
import type { IngestedEvent } from '../crm/event-hooks.ts';
import type { TriggerRow } from '../crm/ingest-config.ts';
import type { SegmentMaintainer } from '../crm/segments/membership.ts';
import type { Logger } from '../logger.ts';
import type { ActionJob } from '../queue/jobs.ts';
import type { NewTask } from './in-engine-actions.ts';
import type { Contact, Run, StepRecord, StoredEvent } from './model.ts';
import type { StatsDelta } from './stats.ts';

/**
 * The kernel's ports: what the executor, its batch loop, enrollment, the run commands and the dry run need from
 * the outside, declared here and nowhere else. PostgreSQL implements them (runner/postgres/index.ts gathers them:
 * runs/store.ts, runs/enroll.ts, runs/timers.ts, flows/flow-cache.ts, owners/owner-router.ts, queue/jobs.ts); the
 * channels and the plugin platform implement the actions; time/clock.ts the clock. Wired in runtime.ts.
 */

export type { Clock } from '../time/clock.ts';
export type { Json, Tx };

/** Runs `fn` in one database transaction: committed when it resolves, rolled back when it throws. */
export type Transact = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/** Compiled flow versions (immutable, so cached for the life of the process). */
export interface FlowSource {
  get(flowId: string, version: number): CompiledFlow | undefined;
  /** Loads and compiles every listed version (all of the workspace) not cached yet, in one query. */
  ensure(tx: Tx, workspaceId: string, keys: { flowId: string; version: number }[]): Promise<void>;
}

/** Runs as the commands outside the executor (cancel, retry, erasure) read and write them. */
export interface RunStore {
  /**
   * Locks one run for a change made outside the executor: the contact's row first, as the executor takes it, so
   * the change never interleaves with a step of this run. Undefined when the workspace has no such run.
   */
  lock(tx: Tx, workspaceId: string, runId: string): Promise<Run | undefined>;
  /**
   * Writes the runs marked dirty and the steps they recorded: a run that ended keeps its steps as one compact record
   * on its row (rows it recorded while it waited folded in), an open run's steps are rows.
   */
  write(tx: Tx, runs: Run[], now: Date, steps?: StepRecord[]): Promise<void>;
  /** Whether the run is of an exclusive flow whose contact has another open run of it (call with the run locked). */
  otherOpenRun(tx: Tx, run: Run): Promise<boolean>;
  writeStats(tx: Tx, stats: StatsDelta): Promise<void>;
}

/** An owner router for one batch: pools locked on first use, assignments written by `BatchStore.writeBatch`. */
export interface BatchRouter extends OwnerRouter {
  /** Time spent waiting for pool locks, for the batch's debug log. */
  readonly lockWaitMs: number;
}

/** What the executor needs for a batch's locked contacts, as far as their flows can use it. */
export interface BatchWork {
  /** The contacts' open runs, in id order. Empty: nothing else is loaded. */
  runs: Run[];
  /** Events after the smallest `sinceSeq` of each contact's listening runs, in seq order. */
  newEvents: StoredEvent[];
  /** The trigger events of runs whose flow reads them. */
  triggerEvents: StoredEvent[];
  /** The `activity` fact, when some loaded flow's conditions read it. */
  activity?: (contactId: string) => (params: Record<string, unknown>) => unknown;
}

/**
 * The executor's batch storage: one transaction per batch, a statement per table, never one per step. The kernel
 * (runner/batch.ts) locks, loads, runs the executor and writes through it, in that order.
 */
export interface BatchStore extends RunStore {
  /**
   * Locks the contacts (`FOR UPDATE`, in id order, so concurrent batches never deadlock on them) and returns the
   * ones that exist.
   */
  lockContacts(tx: Tx, workspaceId: string, contactIds: string[]): Promise<Contact[]>;
  loadWork(tx: Tx, workspaceId: string, contacts: Contact[], now: Date): Promise<BatchWork>;
  router(tx: Tx, workspaceId: string, now: Date): BatchRouter;
  /**
   * Writes what a batch did, all at once: the dirty runs with their steps (as `RunStore.write`), the changed contacts,
   * new tasks, the router's assignments, the external actions' jobs and the counters. Reads after it see all of it.
   * The batch then commits without waiting for its WAL flush (see the implementation).
   */
  writeBatch(tx: Tx, out: BatchOutcome): Promise<void>;
}

/** What one executor batch writes back (BatchStore.writeBatch). */
export interface BatchOutcome {
  workspaceId: string;
  now: Date;
  runs: Run[];
  steps: StepRecord[];
  contacts: Contact[];
  tasks: NewTask[];
  /** The batch's router (from `BatchStore.router`): its pools' cursors, the leads it assigned, the owners' counts. */
  router: BatchRouter;
  actions: ActionJob[];
  stats: StatsDelta;
}

/**
 * Enrollment, the ingestion hook: inside the transaction that wrote the events, starts the runs they trigger and
 * enqueues a job for every contact that now has work. `triggers`: the flow triggers of the events' types, as the
 * ingestion hook's configuration read returns them (crm/ingest-config.ts), so enrollment does not read them again.
 */
export type Enroller = (tx: Tx, workspaceId: string, events: IngestedEvent[], triggers: TriggerRow[]) => Promise<void>;

/** Run wake-ups, clock triggers and time-driven segment rules. */
export interface RunTimers {
  /** The earliest segment wake-up, and the earliest run wake-up or clock trigger, at or before `limit`. */
  nextWakes(limit: Date): Promise<{ segments: Date | null; others: Date | null }>;
  /** Fires everything due at `now`; returns how many things fired. */
  fireAllDue(segments: SegmentMaintainer, now: Date): Promise<number>;
  /** System clock: polls for due work; `also` runs on the same tick. */
  startPoller(opts: { segments: SegmentMaintainer; logger: Logger; also?: (now: Date) => Promise<unknown> }): { stop(): Promise<void> };
  /** Deletes run step detail, events and ended runs past each workspace's retention windows; returns the rows deleted. */
  pruneHistory(now: Date, logger?: Logger): Promise<{ steps: number; events: number; runs: number }>;
}

/** An external action's call as its job finds it: the run at the node it calls, with its contact and trigger event. */
export interface PendingCall {
  flow: CompiledFlow;
  vars: Record<string, Json>;
  /** The contact as the API shows it. */
  contact: Contact;
  event: StoredEvent | null;
}

/** Reads what an external action job needs, outside any transaction (the action runs outside one). */
export interface CallStore {
  /**
   * The call when the run still waits on it (state `calling` at this node and attempt); undefined for a stale job
   * (the run moved on, was cancelled, or this attempt was already recorded).
   */
  load(workspaceId: string, runId: string, at: { nodeId: string; attempt: number }): Promise<PendingCall | undefined>;
}

/** What a dry run reads (it never writes): a stored contact, its behavioural attributes, the routing pools as they are. */
export interface DryRunReads {
  /** A stored contact of the workspace, not erased. */
  contact(workspaceId: string, contactId: string): Promise<Contact | undefined>;
  /** The contact's `activity` fact, by contact id, as the flow's conditions read it now. */
  activity(flow: CompiledFlow, contactId: string, now: Date): Promise<(contactId: string) => (params: Record<string, unknown>) => unknown>;
  /** The real owner selection (weights, territories, fallback owner), reading the pools without locking or moving them. */
  previewRouter(workspaceId: string, now: Date): OwnerRouter;
}

/** Everything the flow engine (runner/index.ts) reaches storage through; runtime.ts builds them over PostgreSQL. */
export interface FlowEngineAdapters {
  transact: Transact;
  /** Releases what the adapters hold (connections of their own); called once the workers have stopped. */
  close?(): Promise<void>;
  flows: FlowSource;
  store: BatchStore;
  calls: CallStore;
  jobs: JobQueue;
  enroll: Enroller;
  timers: RunTimers;
}

/** The job queue, written to inside the caller's transaction so a job exists exactly when its state committed. */
export interface JobQueue {
  enqueueContacts(tx: Tx, workspaceId: string, contactIds: readonly string[]): Promise<void>;
}

/** Why an owner was chosen, recorded on the step: rotation (round robin), weighted, territory, or the pool's fallback. */
export type AssignReason = 'rotation' | 'weighted' | 'territory' | 'fallback';

export interface AssignedOwner { id: string; name: string; email: string; reason: AssignReason; detail: string }

export interface AssignInput {
  workspaceId: string;
  contactId: string;
  pool: string;
  strategy: 'round_robin' | 'weighted' | 'territory';
  territory: string | null;
  /** Skip this owner (e.g. the current one, to hand an uncontacted lead to someone else). */
  excludeOwnerId?: string | null;
  /** The contact's owner before this assignment: its open lead is released (reassigned). */
  previousOwnerId?: string | null;
}

/** Picks owners from routing pools (runner/postgres/owners/owner-router.ts: the pool locked once per batch, or a preview for dry runs). */
export interface OwnerRouter {
  assign(input: AssignInput): Promise<AssignedOwner>;
}


/** What an external action (webhook, email, plugin) is given. Config values are already rendered (Liquid). */
export interface ActionInput {
  workspaceId: string;
  flowId: string;
  version: number;
  runId: string;
  nodeId: string;
  /** `<run id>:<node id>`: the same on every retry of this step. */
  idempotencyKey: string;
  attempt: number;
  config: Record<string, unknown>;
  contact: Readonly<Record<string, unknown>>;
  event: Readonly<Record<string, unknown>> | null;
  vars: Readonly<Record<string, unknown>>;
  signal: AbortSignal;
}

/**
 * An action that talks to the outside world runs outside the run's database transaction, in its own job;
 * its result is recorded before the run moves on. Throw a CairnError (retryable or not) to fail the step.
 */
export interface ExternalAction {
  run(input: ActionInput): Promise<ActionOutcome>;
}

/**
 * What an external action reports. `skipped`: it decided not to act (e.g. a capped or suppressed email); the step
 * is recorded as skipped with the output and the flow continues. `deferUntil`: not now — the step is recorded as
 * deferred and the run sleeps on this node until then (durably, like any delay), then runs the action again.
 */
export interface ActionOutcome {
  output: Json;
  skipped?: boolean;
  deferUntil?: Date;
  /** Lines the action logged, kept on its step (plugins). */
  logs?: Json[];
}

/** Resolves a node type (`action.webhook`, `plugin:<id>/<key>`) to its implementation for one flow version. */
export interface ActionRegistry {
  resolve(type: string, ctx: { workspaceId: string; pluginPins: Record<string, string> }): Promise<ExternalAction | undefined>;
}

export type ActionError = Pick<CairnError, 'code' | 'message' | 'retryable'>;
