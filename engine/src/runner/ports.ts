import type { Json } from '../contracts/flow.ts';
import type { Tx } from '../db/index.ts';
import type { CairnError } from '../errors.ts';
import type { ActionJob } from '../queue/jobs.ts';
import type { Run } from './model.ts';
import type { StatsDelta } from './stats.ts';

/**
 * The kernel's ports: what the executor, the run commands and the dry run need from the outside, declared here
 * and nowhere else. PostgreSQL implements them (runner/postgres/runs/store.ts, runner/postgres/owners/owner-router.ts, queue/jobs.ts); the
 * channels and the plugin platform implement the actions; time/clock.ts the clock. Wired in runtime.ts.
 */

export type { Clock } from '../time/clock.ts';
export type { Json };

/** Runs as the commands outside the executor (cancel, retry, erasure) read and write them. */
export interface RunStore {
  /**
   * Locks one run for a change made outside the executor: the contact's row first, as the executor takes it, so
   * the change never interleaves with a step of this run. Undefined when the workspace has no such run.
   */
  lock(tx: Tx, workspaceId: string, runId: string): Promise<Run | undefined>;
  /** Writes the runs marked dirty; a second open run of an exclusive flow for one contact is a unique violation. */
  write(tx: Tx, runs: Run[], now: Date): Promise<void>;
  writeStats(tx: Tx, stats: StatsDelta): Promise<void>;
}

/** The job queue, written to inside the caller's transaction so a job exists exactly when its state committed. */
export interface JobQueue {
  enqueueContacts(tx: Tx, workspaceId: string, contactIds: readonly string[]): Promise<void>;
  enqueueActions(tx: Tx, jobs: readonly ActionJob[]): Promise<void>;
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
