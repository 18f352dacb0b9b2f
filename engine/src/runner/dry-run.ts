import { CairnError, notFound } from '../errors.ts';
import type { CompiledFlow } from '../flow/compile.ts';
import type { DryRunReads, Json } from './ports.ts';
import { Effects, processContact, type BatchEnv } from './executor.ts';
import type { EmittedEvent, NewTask } from './in-engine-actions.ts';
import type { ActionResult, Contact, Run, StoredEvent } from './model.ts';
import { runRenderBudget } from '../flow/templates.ts';

export interface DryRunStep {
  node_id: string;
  type: string;
  status: string;
  output: Json | null;
  error: Json | null;
  /** When the engine would be at this step, relative to the trigger (delays and waits move it on). */
  at: string;
}

export interface DryRunResult {
  triggered: boolean;
  status: string;
  path: string[];
  steps: DryRunStep[];
  /** What would change or be sent: contact changes, owner assignments, tasks, emitted events, external calls. */
  actions: { node_id: string; type: string; effect: Json }[];
  contact: Json;
}

/** The contact a dry run is given inline: what the caller states, the rest empty. */
export type DraftContact = Partial<Pick<Contact, 'external_id' | 'email' | 'properties' | 'tags' | 'score' | 'owner_id' | 'timezone'>>;

export interface DryRunEvent { type: string; properties?: Record<string, unknown>; occurred_at?: string }

export function draftContact(workspaceId: string, c: DraftContact, now: Date): Contact {
  return {
    id: '00000000-0000-7000-8000-000000000000', workspace_id: workspaceId, external_id: c.external_id ?? null, email: c.email ?? null,
    properties: c.properties ?? {}, tags: c.tags ?? [], score: c.score ?? 0, owner_id: c.owner_id ?? null, lifecycle_stage: null,
    timezone: c.timezone ?? null, created_at: now.toISOString(), updated_at: now.toISOString(),
  };
}

/** A stored contact of the workspace (not erased), or 404. */
export async function storedContact(reads: DryRunReads, workspaceId: string, contactId: string): Promise<Contact> {
  const found = await reads.contact(workspaceId, contactId);
  if (!found) throw notFound('contact');
  return found;
}

/**
 * The path a draft would take for one contact and event, run by the real executor on an in-memory run: delays and
 * timeouts are skipped over in virtual time, external actions are described instead of called, nothing is written.
 */
export async function dryRun(reads: DryRunReads, flow: CompiledFlow, request: { contact: Contact; event: DryRunEvent; now: Date; assumeEvents?: string[] }): Promise<DryRunResult> {
  const event: StoredEvent = {
    id: 'dry-run-event', seq: 0, contact_id: request.contact.id, type: request.event.type,
    properties: (request.event.properties ?? {}) as StoredEvent['properties'], occurred_at: request.event.occurred_at ?? request.now.toISOString(),
  };
  const input = { ...request, event };
  // A stored contact's behavioural attributes as they are now (a draft contact has none), for `activity` conditions.
  const activity = flow.activity.types.length ? await reads.activity(flow, input.contact.id, input.now) : undefined;
  const facts = { contact: input.contact as unknown as Record<string, unknown>, event: { id: input.event.id, type: input.event.type, properties: input.event.properties, occurred_at: input.event.occurred_at }, run: {}, activity: activity?.(input.contact.id) };
  const empty: DryRunResult = { triggered: false, status: 'not_triggered', path: [], steps: [], actions: [], contact: input.contact as unknown as Json };
  if (flow.trigger.type === 'trigger.event' && flow.trigger.config.event !== input.event.type) return empty;
  if (flow.trigger.test) {
    try {
      if (!flow.trigger.test(facts, input.now)) return empty;
    } catch (err) {
      // As at ingestion, a `when` that fails on this contact starts no run: shown as the trigger's failed step.
      const error = { code: 'CAIRN_ERR_STEP_FAILED', message: `the trigger's "when" condition failed: ${(err as Error)?.message ?? String(err)}` };
      const step: DryRunStep = { node_id: flow.trigger.id, type: flow.trigger.type, status: 'failed', output: null, error, at: input.now.toISOString() };
      return { ...empty, status: 'trigger_failed', path: [flow.trigger.id], steps: [step] };
    }
  }

  let now = input.now;
  const run: Run = {
    id: 'dry-run', workspaceId: flow.workspaceId, flowId: flow.flowId, version: flow.version, contactId: input.contact.id,
    status: 'active', state: 'ready', nodeId: flow.trigger.id, nodeEnteredAt: now, attempt: 1, wakeAt: null, listenEvent: null,
    triggerEventId: input.event.id, sinceSeq: input.event.seq, vars: {}, error: null, startedAt: now, finishedAt: null,
  };
  const steps: DryRunStep[] = [];
  const actions: DryRunResult['actions'] = [];
  const newTasks: NewTask[] = [];
  const emitted: EmittedEvent[] = [];
  // The real owner selection (weights, territories, fallback owner), reading the pools without locking or moving them.
  const router = reads.previewRouter(flow.workspaceId, now);
  const contact = structuredClone(input.contact);
  const before = JSON.stringify(contact);
  let seq = input.event.seq;

  for (let guard = 0; guard < 200 && run.state !== 'done'; guard++) {
    const effects = new Effects();
    const env: BatchEnv = { now, flow: () => flow, triggerEvent: () => input.event, activity, effects, router, newTasks, emitted };
    const events: StoredEvent[] = [];
    if (run.state === 'listening' && input.assumeEvents?.includes(run.listenEvent!)) {
      events.push({ id: `assumed-${seq + 1}`, seq: ++seq, contact_id: contact.id, type: run.listenEvent!, properties: {}, occurred_at: now.toISOString() });
    }
    const actionResults: ActionResult[] = [];
    if (run.state === 'calling') {
      const node = flow.nodes.get(run.nodeId!)!;
      const result = { runId: run.id, nodeId: node.id, attempt: run.attempt };
      try {
        const request = (await node.render({ contact: contact as unknown as Record<string, unknown>, event: facts.event, run: run.vars }, (run.renderBudget ??= runRenderBudget()))) as Json;
        actions.push({ node_id: node.id, type: node.type, effect: { would_call: request } });
        actionResults.push({ ...result, ok: true, output: { dry_run: true } as Json });
      } catch (err) {
        if (!(err instanceof CairnError) || err.errorClass !== 'USER') throw err;
        actionResults.push({ ...result, ok: false, error: { code: err.code, message: err.message, retryable: false } });
      }
    } else if ((run.state === 'sleeping' || run.state === 'listening') && run.wakeAt && events.length === 0) {
      now = run.wakeAt; // skip ahead to when the engine would wake the run
    }
    await processContact({ contact, runs: [run], events, actionResults }, env);
    for (const s of effects.steps) {
      const type = flow.nodes.get(s.nodeId)?.type ?? 'unknown';
      steps.push({ node_id: s.nodeId, type, status: s.status, output: s.output, error: s.error, at: s.finishedAt.toISOString() });
      if (type === 'action.assign_owner' || type === 'action.set_property' || type === 'action.tag' || type === 'action.score') {
        if (s.status === 'completed') actions.push({ node_id: s.nodeId, type, effect: s.output });
      }
    }
  }
  for (const t of newTasks) actions.push({ node_id: t.nodeId, type: 'action.create_task', effect: { title: t.title, body: t.body, owner_id: t.ownerId, assignee: t.assignee } });
  for (const e of emitted) actions.push({ node_id: e.idempotencyKey.split(':')[1]!, type: 'action.emit_event', effect: { event: e.type, properties: e.properties } });
  return {
    triggered: true,
    status: run.state === 'done' ? run.status : `stopped (${run.state})`,
    path: steps.map((s) => s.node_id),
    steps,
    actions,
    contact: JSON.stringify(contact) === before ? (input.contact as unknown as Json) : (contact as unknown as Json),
  };
}
