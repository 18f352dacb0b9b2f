import type { Contact as ApiContact } from '../crm/contacts.ts';
import type { Json } from './ports.ts';
import type { RenderBudget } from '../flow/templates.ts';

export type RunStatus = 'active' | 'waiting' | 'completed' | 'converted' | 'exited' | 'failed' | 'cancelled';
/**
 * Internal state of a run. ready: runnable now · calling: an external action job is in flight ·
 * sleeping: until wake_at (delay, or retry backoff) · listening: wait_for_event, wake_at = timeout ·
 * due: the timer poller found wake_at passed · done: finished.
 */
export type RunState = 'ready' | 'calling' | 'sleeping' | 'listening' | 'due' | 'done';

export const OPEN_STATUSES: readonly RunStatus[] = ['active', 'waiting'];

export interface Run {
  id: string;
  workspaceId: string;
  flowId: string;
  version: number;
  contactId: string;
  status: RunStatus;
  state: RunState;
  nodeId: string | null;
  nodeEnteredAt: Date | null;
  attempt: number;
  wakeAt: Date | null;
  listenEvent: string | null;
  triggerEventId: string | null;
  sinceSeq: number;
  vars: Record<string, Json>;
  error: Json | null;
  startedAt: Date;
  finishedAt: Date | null;
  /** Set when the executor changed the run, so the store writes it back. */
  dirty?: boolean;
  /**
   * Set by the store when the run may have steps stored as rows (it recorded steps in an earlier batch and waited):
   * when it ends they are folded into its compact record. A run loaded at its trigger has none.
   */
  stepRows?: boolean;
  /** What Liquid may still spend on this run until it waits (not stored: each batch or dry run starts afresh). */
  renderBudget?: RenderBudget;
}

/** A contact as the executor sees it (conditions and templates): the API object plus its workspace. */
export type Contact = ApiContact & { workspace_id: string };

export interface StoredEvent {
  id: string;
  seq: number;
  contact_id: string;
  type: string;
  properties: Record<string, Json>;
  occurred_at: string;
}

export interface StepRecord {
  runId: string;
  nodeId: string;
  status: 'completed' | 'failed' | 'skipped' | 'deferred';
  attempt: number;
  startedAt: Date;
  finishedAt: Date;
  output: Json | null;
  error: Json | null;
  /** What the step's code logged (plugins: ctx.log and console.*), bounded and redacted; null when nothing. */
  logs?: Json[] | null;
}

/** The result an external action job hands back to the executor for one run. */
export interface ActionResult {
  runId: string;
  nodeId: string;
  attempt: number;
  ok: boolean;
  output?: Json;
  /** The action chose not to act; the flow continues. */
  skipped?: boolean;
  /** ISO time: run the action again then (the run sleeps on its node until). */
  deferUntil?: string;
  /** `retry_after_ms`: the least delay before the retry the action asked for (a vendor's Retry-After). */
  error?: { code: string; message: string; retryable: boolean; retry_after_ms?: number; stack?: string };
  logs?: Json[];
}
