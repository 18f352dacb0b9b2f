import { createHash } from 'node:crypto';
import type { CompiledFlow, CompiledNode, CompiledNodeOfKind, Facts } from '../flow/compile.ts';
import { CairnError } from '../errors.ts';
import type { Json } from './ports.ts';
import type { ActionResult, Contact, Run, StepRecord, StoredEvent } from './model.ts';
import { StatsDelta } from './stats.ts';
import { delayUntil, addContactDuration, MAX_AHEAD_MS } from '../time/zones.ts';
import { BatchIoError, runInEngineAction, type InEngineDeps } from './in-engine-actions.ts';
import { runRenderBudget } from '../flow/templates.ts';
import { breathe } from '../time/slice.ts';

/** Work for one contact, loaded (and locked) by the store. */
export interface ContactWork {
  contact: Contact;
  /** The contact's open runs, oldest first. */
  runs: Run[];
  /** The contact's events after the smallest `sinceSeq` of its open runs, in seq order. */
  events: StoredEvent[];
  /** Results of external actions reported for this contact's runs. */
  actionResults: ActionResult[];
}

export interface PendingAction {
  workspaceId: string;
  contactId: string;
  runId: string;
  nodeId: string;
  attempt: number;
}

/** Everything a batch changes besides runs and contacts themselves, written by the store in a few statements. */
export class Effects {
  readonly steps: StepRecord[] = [];
  readonly stats = new StatsDelta();
  readonly actions: PendingAction[] = [];
  readonly dirtyContacts = new Set<string>();
}

export interface BatchEnv extends InEngineDeps {
  now: Date;
  flow(flowId: string, version: number): CompiledFlow | undefined;
  triggerEvent(id: string): StoredEvent | undefined;
  /** The contact's `activity` fact, when a loaded flow reads it. */
  activity?: (contactId: string) => (params: Record<string, unknown>) => unknown;
  effects: Effects;
}

/** A guard against a flow that loops without waiting (validation refuses such cycles; this keeps a bug from spinning). */
const MAX_STEPS_PER_PASS = 500;
/** The longest delay before a retry an action may ask for (a vendor's Retry-After): one hour. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

const eventFact = (e: StoredEvent | undefined | null): Record<string, unknown> | null =>
  e ? { id: e.id, type: e.type, properties: e.properties, occurred_at: e.occurred_at } : null;

/**
 * The run executor's kernel: applies a contact's new events and action results to its open runs and advances
 * every runnable run until it must wait. Plain TypeScript over a loaded batch; all I/O is the store's.
 */
export async function processContact(work: ContactWork, env: BatchEnv): Promise<void> {
  const { contact } = work;
  const open = () => work.runs.filter((r) => r.state !== 'done');

  for (const result of work.actionResults) {
    const run = work.runs.find((r) => r.id === result.runId);
    if (run) isolated(run, env, () => applyActionResult(run, result, env));
  }

  for (const ev of work.events) {
    for (const run of open()) {
      if (ev.seq <= run.sinceSeq) continue;
      run.sinceSeq = ev.seq;
      run.dirty = true;
      isolated(run, env, () => applyEvent(run, ev, contact, env));
    }
    await advanceReady(work, env, ev.seq);
  }

  for (const run of open()) {
    const isDue = run.state === 'due' || ((run.state === 'sleeping' || run.state === 'listening') && run.wakeAt && run.wakeAt <= env.now);
    if (isDue) isolated(run, env, () => wake(run, env));
  }
  await advanceReady(work, env, Number.MAX_SAFE_INTEGER);
}

/**
 * One contact's bad data or one node's bug must not fail the batch it shares with up to 999 other contacts: a
 * throw while the kernel works on a run fails that step, without a retry (the `error` handle applies), and the
 * rest of the batch commits. The kernel throws before it changes anything, so the run is
 * still where it was. Only a failure of the batch's own database work fails the batch.
 */
function isolated(run: Run, env: BatchEnv, work: () => void): void {
  try {
    work();
  } catch (err) {
    runThrew(run, env, err);
  }
}

async function isolatedAsync(run: Run, env: BatchEnv, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    runThrew(run, env, err);
  }
}

function runThrew(run: Run, env: BatchEnv, err: unknown): void {
  if (err instanceof BatchIoError) throw err;
  const node = run.nodeId ? env.flow(run.flowId, run.version)?.nodes.get(run.nodeId) : undefined;
  const error = err instanceof CairnError && err.errorClass === 'USER'
    ? { code: err.code, message: err.message, retryable: false }
    : { code: 'CAIRN_ERR_INTERNAL', message: `${node ? `node ${node.id} (${node.type})` : 'the run'} failed: ${err instanceof Error ? err.message : String(err)}`, retryable: false };
  if (run.state === 'done') return;
  if (!node) return fail(run, env, undefined, error);
  if (run.state !== 'ready') leaveWaiting(run, node, env);
  stepFailed(run, node, env, error);
}

function facts(run: Run, contact: Contact, env: BatchEnv, event?: StoredEvent): Facts {
  const trigger = event ?? (run.triggerEventId ? env.triggerEvent(run.triggerEventId) : undefined);
  return { contact: contact as unknown as Record<string, unknown>, event: eventFact(trigger), run: run.vars, activity: env.activity?.(contact.id) };
}

function flowOf(run: Run, env: BatchEnv): CompiledFlow {
  const flow = env.flow(run.flowId, run.version);
  if (!flow) throw new CairnError('CAIRN_ERR_INTERNAL', `flow ${run.flowId} version ${run.version} is not loaded`);
  return flow;
}

function applyEvent(run: Run, ev: StoredEvent, contact: Contact, env: BatchEnv): void {
  const flow = flowOf(run, env);
  const f = facts(run, contact, env, ev);
  const exit = flow.exitOn.find((x) => x.event === ev.type && (!x.test || x.test(f, env.now)));
  if (exit) return finish(run, 'exited', env, { reason: `event ${ev.type}`, event_id: ev.id });
  if (flow.goal?.event === ev.type && (!flow.goal.test || flow.goal.test(f, env.now))) {
    return finish(run, 'converted', env, { reason: `goal event ${ev.type}`, event_id: ev.id });
  }
  if (run.state === 'listening' && run.listenEvent === ev.type) {
    const node = flow.nodes.get(run.nodeId!)!;
    if (node.test && !node.test(f, env.now)) return;
    leaveWaiting(run, node, env);
    record(run, node, env, 'completed', { handle: 'event', event_id: ev.id, event: ev.properties });
    run.vars = { ...run.vars, [node.id]: { event_id: ev.id, type: ev.type, properties: ev.properties } };
    follow(run, node, 'event', env);
  }
}

/** A timer fell due: a delay ends, a wait times out, or a failed action's backoff is over. */
function wake(run: Run, env: BatchEnv): void {
  const flow = flowOf(run, env);
  const node = flow.nodes.get(run.nodeId!);
  if (!node) return fail(run, env, undefined, { code: 'CAIRN_ERR_INTERNAL', message: `node ${run.nodeId} is missing` });
  run.wakeAt = null;
  run.dirty = true;
  if (node.kind === 'trigger' || node.kind === 'action') {
    // trigger: a date-triggered run slept until its moment and now starts; action: retry after backoff.
    run.state = 'ready';
    run.status = 'active';
    env.effects.stats.node(run.workspaceId, run.flowId, run.version, node.id, 'waiting', -1);
    return;
  }
  leaveWaiting(run, node, env);
  if (node.kind === 'wait') {
    record(run, node, env, 'completed', { handle: 'timeout' });
    follow(run, node, 'timeout', env);
  } else {
    record(run, node, env, 'completed', { waited_until: env.now.toISOString() });
    follow(run, node, 'default', env);
  }
}

function applyActionResult(run: Run, result: ActionResult, env: BatchEnv): void {
  // Only the result for the attempt the run is waiting on counts; a late duplicate is dropped.
  if (run.state !== 'calling' || run.nodeId !== result.nodeId || run.attempt !== result.attempt) return;
  const node = flowOf(run, env).nodes.get(result.nodeId)!;
  leaveWaiting(run, node, env);
  if (result.ok && result.deferUntil) {
    // Same attempt, same idempotency key: when the timer fires the action runs again as if for the first time.
    record(run, node, env, 'deferred', (result.output ?? null) as Json);
    startWaiting(run, node, env, 'sleeping', new Date(result.deferUntil));
  } else if (result.ok) {
    const output = (result.output ?? null) as Json;
    record(run, node, env, result.skipped ? 'skipped' : 'completed', output, null, result.logs);
    run.vars = { ...run.vars, [node.id]: output };
    follow(run, node, 'default', env);
  } else {
    stepFailed(run, node, env, result.error ?? { code: 'CAIRN_ERR_STEP_FAILED', message: 'action failed', retryable: false }, result.logs);
  }
}

async function advanceReady(work: ContactWork, env: BatchEnv, upToSeq: number): Promise<void> {
  for (const run of work.runs) {
    let steps = 0;
    while (run.state === 'ready' && run.sinceSeq <= upToSeq) {
      if (++steps > MAX_STEPS_PER_PASS) {
        fail(run, env, undefined, { code: 'CAIRN_ERR_INTERNAL', message: `run took ${MAX_STEPS_PER_PASS} steps without waiting` });
        break;
      }
      await breathe();
      await isolatedAsync(run, env, () => step(run, work.contact, env));
    }
  }
}

/** Executes the node the run stands on. */
async function step(run: Run, contact: Contact, env: BatchEnv): Promise<void> {
  const flow = flowOf(run, env);
  const node = flow.nodes.get(run.nodeId!);
  if (!node) return fail(run, env, undefined, { code: 'CAIRN_ERR_INTERNAL', message: `node ${run.nodeId} is missing` });
  const f = facts(run, contact, env);
  if (flow.goal && !flow.goal.event && flow.goal.test?.(f, env.now)) return finish(run, 'converted', env, { reason: 'goal rule met' });

  switch (node.kind) {
    case 'trigger':
      env.effects.stats.node(run.workspaceId, run.flowId, run.version, node.id, 'entered');
      record(run, node, env, 'completed', null); // the triggering event is the run's trigger_event_id
      return follow(run, node, 'default', env);
    case 'condition': {
      const result = node.test!(f, env.now);
      record(run, node, env, 'completed', { result });
      return follow(run, node, result ? 'true' : 'false', env);
    }
    case 'split': {
      const branch = chooseBranch(node, run.contactId);
      record(run, node, env, 'completed', { branch });
      if (branch === null) return finish(run, 'completed', env, { reason: 'holdout' });
      return follow(run, node, branch, env);
    }
    case 'delay': {
      const until = delayUntil(node.config, env.now, contact);
      if (!until || until <= env.now) {
        record(run, node, env, 'completed', { waited_until: env.now.toISOString(), skipped: !until });
        return follow(run, node, 'default', env);
      }
      return startWaiting(run, node, env, 'sleeping', until);
    }
    case 'wait':
      run.listenEvent = node.config.event;
      return startWaiting(run, node, env, 'listening', addContactDuration(env.now, node.config.timeout, contact.timezone));
    case 'end': {
      record(run, node, env, 'completed', null);
      const outcome = node.config.outcome ?? 'completed';
      return finish(run, outcome, env, null);
    }
    case 'action': {
      if (node.external) {
        run.state = 'calling';
        run.status = 'active';
        run.dirty = true;
        env.effects.stats.node(run.workspaceId, run.flowId, run.version, node.id, 'waiting', 1);
        env.effects.actions.push({ workspaceId: run.workspaceId, contactId: run.contactId, runId: run.id, nodeId: node.id, attempt: run.attempt });
        return;
      }
      // A throw (a USER error such as a missing routing pool, or anything else) fails this step: see `isolated`.
      const output = await runInEngineAction(node, await node.render(f, (run.renderBudget ??= runRenderBudget())), { run, contact, env });
      record(run, node, env, 'completed', output);
      run.vars = { ...run.vars, [node.id]: output };
      return follow(run, node, 'default', env);
    }
  }
}

/** A failed step: retry after backoff while attempts remain, else the `error` handle, else the run fails. */
function stepFailed(run: Run, node: CompiledNode, env: BatchEnv, error: { code: string; message: string; retryable: boolean; retry_after_ms?: number; stack?: string }, logs?: Json[]): void {
  record(run, node, env, 'failed', null, error, logs);
  if (error.retryable && run.attempt < node.retry.maxAttempts) {
    // Capped: 20 attempts growing tenfold from PT10S reach past the year 9999, which the database cannot store.
    // A vendor's Retry-After (carried by the plugin's error) lengthens the backoff, never shortens it.
    const delayMs = Math.min(Math.max(node.retry.backoffMs * node.retry.factor ** (run.attempt - 1), Math.min(error.retry_after_ms ?? 0, MAX_RETRY_AFTER_MS)), MAX_AHEAD_MS);
    run.attempt += 1;
    startWaiting(run, node, env, 'sleeping', new Date(env.now.getTime() + delayMs));
    run.status = 'active'; // backing off between attempts is still executing, not waiting on the contact
    return;
  }
  if (node.out.has('error')) {
    // What failed is the step's fact for the rest of the run: `run.<node id>.error.code` in conditions and templates.
    run.vars = { ...run.vars, [node.id]: { error: { code: error.code, message: error.message, retryable: error.retryable } } };
    return follow(run, node, 'error', env);
  }
  env.effects.stats.node(run.workspaceId, run.flowId, run.version, node.id, 'failed');
  fail(run, env, node, error);
}

function startWaiting(run: Run, node: CompiledNode, env: BatchEnv, state: 'sleeping' | 'listening', until: Date): void {
  run.state = state;
  run.status = 'waiting';
  run.wakeAt = until;
  run.dirty = true;
  env.effects.stats.node(run.workspaceId, run.flowId, run.version, node.id, 'waiting', 1);
}

function leaveWaiting(run: Run, node: CompiledNode, env: BatchEnv): void {
  env.effects.stats.node(run.workspaceId, run.flowId, run.version, node.id, 'waiting', -1);
  run.wakeAt = null;
  run.listenEvent = null;
  run.state = 'ready';
  run.status = 'active';
  run.dirty = true;
}

function record(run: Run, node: CompiledNode, env: BatchEnv, status: StepRecord['status'], output: Json | null, error: Json | null = null, logs?: Json[]): void {
  env.effects.steps.push({
    runId: run.id,
    nodeId: node.id,
    status,
    attempt: run.attempt,
    startedAt: run.nodeEnteredAt ?? env.now,
    finishedAt: env.now,
    output,
    error,
    ...(logs?.length ? { logs } : {}),
  });
  // A skipped step (capped or suppressed email) still passes the contact on: it counts as done for the node.
  if (status === 'completed' || status === 'skipped') env.effects.stats.node(run.workspaceId, run.flowId, run.version, node.id, 'completed');
}

function follow(run: Run, node: CompiledNode, handle: string, env: BatchEnv): void {
  const target = node.out.get(handle);
  if (!target) return finish(run, 'completed', env, null);
  run.nodeId = target;
  run.nodeEnteredAt = env.now;
  run.attempt = 1;
  run.state = 'ready';
  run.status = 'active';
  run.dirty = true;
  env.effects.stats.node(run.workspaceId, run.flowId, run.version, target, 'entered');
}

function finish(run: Run, status: 'completed' | 'converted' | 'exited', env: BatchEnv, why: Json | null): void {
  if (run.state === 'sleeping' || run.state === 'listening' || run.state === 'calling' || run.state === 'due') {
    env.effects.stats.node(run.workspaceId, run.flowId, run.version, run.nodeId!, 'waiting', -1);
  }
  if (why) run.vars = { ...run.vars, _end: why };
  close(run, status, env);
}

function fail(run: Run, env: BatchEnv, node: CompiledNode | undefined, error: { code: string; message: string }): void {
  if (!node && run.nodeId) env.effects.stats.node(run.workspaceId, run.flowId, run.version, run.nodeId, 'failed');
  run.error = { code: error.code, message: error.message, node_id: run.nodeId };
  close(run, 'failed', env);
}

function close(run: Run, status: 'completed' | 'converted' | 'exited' | 'failed', env: BatchEnv): void {
  run.status = status;
  run.state = 'done';
  run.wakeAt = null;
  run.listenEvent = null;
  run.finishedAt = env.now;
  run.dirty = true;
  env.effects.stats.flow(run.workspaceId, run.flowId, run.version, status);
}

/**
 * Stable per contact and node: the same contact always takes the same branch of the same split.
 * `null` means the contact falls in the holdout.
 */
export function chooseBranch(node: CompiledNodeOfKind<'split'>, contactId: string): string | null {
  const h = createHash('sha256').update(`${contactId}:${node.id}`).digest();
  let u = h.readUInt32BE(0) / 2 ** 32;
  const holdout = (node.config.holdout ?? 0) / 100;
  if (u < holdout) return null;
  u = (u - holdout) / (1 - holdout);
  const branches = node.config.branches;
  const total = branches.reduce((s, b) => s + b.weight, 0);
  let acc = 0;
  for (const b of branches) {
    acc += b.weight / total;
    if (u < acc) return b.key;
  }
  return branches[branches.length - 1]!.key;
}

/** Cancels an open run (API or erasure), keeping the per-node counters true. */
export function cancelRun(run: Run, now: Date, stats: StatsDelta): void {
  if (run.state === 'sleeping' || run.state === 'listening' || run.state === 'calling' || run.state === 'due') {
    stats.node(run.workspaceId, run.flowId, run.version, run.nodeId!, 'waiting', -1);
  }
  run.status = 'cancelled';
  run.state = 'done';
  run.wakeAt = null;
  run.listenEvent = null;
  run.finishedAt = now;
  run.dirty = true;
  stats.flow(run.workspaceId, run.flowId, run.version, 'cancelled');
}
