import { Effects, processContact, type BatchEnv, type ContactWork } from './executor.ts';
import type { EmittedEvent, NewTask } from './in-engine-actions.ts';
import type { ActionResult, Run, StoredEvent } from './model.ts';
import type { BatchStore, FlowSource, JobQueue, Tx } from './ports.ts';
import { groupBy } from './group-by.ts';

/** One contact to advance, with the result of an external action when that is why it is here. */
export interface ContactRequest {
  contactId: string;
  actionResult?: ActionResult;
}

export interface BatchDeps {
  store: BatchStore;
  jobs: JobQueue;
  flows: FlowSource;
  now: Date;
  /** Records emitted events through the one ingestion path (so they can trigger flows too). */
  emit(tx: Tx, workspaceId: string, events: EmittedEvent[]): Promise<void>;
  /** Re-evaluates the segments of contacts the batch changed (tags, properties, score, owner). */
  contactsChanged?(tx: Tx, workspaceId: string, contactIds: string[], now: Date): Promise<void>;
}

export interface BatchReport {
  runs: number;
  steps: number;
  /** Milliseconds per phase, for the debug log: lock, load, execute, write, rest. */
  phasesMs: Record<string, number>;
}

/**
 * One batch for one workspace, in the caller's transaction: lock the contacts, load their open runs, new events
 * and trigger events, run the executor, write everything back through the store (runs, steps, contacts, tasks, owner
 * assignments, the external actions' jobs and counters in one statement, never one per step), then re-evaluate the
 * changed contacts' segments and record the events the batch emitted.
 */
export async function advanceBatch(tx: Tx, workspaceId: string, requests: ContactRequest[], deps: BatchDeps): Promise<BatchReport> {
  const { store, now } = deps;
  const phasesMs: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string) => {
    const t = performance.now();
    phasesMs[name] = Math.round((t - mark) * 10) / 10;
    mark = t;
  };
  const contacts = await store.lockContacts(tx, workspaceId, [...new Set(requests.map((r) => r.contactId))].sort());
  phase('lock');
  if (contacts.length === 0) return { runs: 0, steps: 0, phasesMs };
  const work = await store.loadWork(tx, workspaceId, contacts, now);
  const { runs } = work;
  if (runs.length === 0) return { runs: 0, steps: 0, phasesMs };
  phase('load');

  const triggers = new Map(work.triggerEvents.map((e) => [e.id, e]));
  const effects = new Effects();
  const router = store.router(tx, workspaceId, now);
  const newTasks: NewTask[] = [];
  const emitted: EmittedEvent[] = [];
  const env: BatchEnv = {
    now,
    flow: (flowId, version) => deps.flows.get(flowId, version),
    triggerEvent: (id) => triggers.get(id),
    activity: work.activity,
    effects,
    router,
    newTasks,
    emitted,
  };

  const runsByContact = groupBy(runs, (r) => r.contactId);
  const eventsByContact = groupBy(work.newEvents, (e: StoredEvent) => e.contact_id);
  const runContact = new Map(runs.map((r: Run) => [r.id, r.contactId]));
  const resultsByContact = groupBy(requests.filter((r) => r.actionResult).map((r) => r.actionResult!), (a) => runContact.get(a.runId) ?? '');
  for (const contact of contacts) {
    const cw: ContactWork = {
      contact,
      runs: runsByContact.get(contact.id) ?? [],
      events: eventsByContact.get(contact.id) ?? [],
      actionResults: resultsByContact.get(contact.id) ?? [],
    };
    if (cw.runs.length) await processContact(cw, env);
  }

  phase('execute');
  phasesMs.poolLockWait = Math.round(router.lockWaitMs * 10) / 10;
  const changed = contacts.filter((c) => effects.dirtyContacts.has(c.id));
  await store.writeBatch(tx, {
    workspaceId, now, runs: runs.filter((r) => r.dirty), steps: effects.steps, contacts: changed, tasks: newTasks, router,
    actions: effects.actions.map((a) => ({ w: a.workspaceId, c: a.contactId, r: a.runId, n: a.nodeId, a: a.attempt })),
    stats: effects.stats,
  });
  phase('write');
  // After the write: segment rules read the contacts as changed, and emitted events' enrollment sees the runs as ended.
  if (changed.length && deps.contactsChanged) await deps.contactsChanged(tx, workspaceId, changed.map((c) => c.id), now);
  if (emitted.length) await deps.emit(tx, workspaceId, emitted);
  phase('rest');
  return { runs: runs.length, steps: effects.steps.length, phasesMs };
}
