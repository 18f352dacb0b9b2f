import type { CairnError } from '../errors.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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
}

/** Resolves a node type (`action.webhook`, `plugin:<id>/<key>`) to its implementation for one flow version. */
export interface ActionRegistry {
  resolve(type: string, ctx: { workspaceId: string; pluginPins: Record<string, string> }): Promise<ExternalAction | undefined>;
}

export type ActionError = Pick<CairnError, 'code' | 'message' | 'retryable'>;
