import { describe, expect, it } from 'vitest';
import type { FlowDocument, FlowEdge, FlowNode } from '../contracts/flow.ts';
import { compileFlow, type CompiledFlow } from '../flow/compile.ts';
import { Effects, processContact, type BatchEnv } from './executor.ts';
import type { ActionResult, Contact, Run, StoredEvent } from './model.ts';
import type { OwnerRouter } from './ports.ts';

// processContact is pure over a loaded batch: these tests give it a compiled flow, a run and events, and read back
// the run, the recorded steps, the external calls it asks for and the counter deltas. No database.

const T0 = new Date('2026-03-02T09:00:00Z');
const WS = 'ws-1';
const node = (id: string, type: string, config: Record<string, unknown> = {}): FlowNode => ({ id, type, position: { x: 0, y: 0 }, config }) as FlowNode;
const edge = (source: string, target: string, sourceHandle?: string): FlowEdge => ({ id: `${source}-${target}`, source, target, sourceHandle: sourceHandle ?? null });

function compile(nodes: FlowNode[], edges: FlowEdge[], settings: Partial<FlowDocument['settings']> = {}): CompiledFlow {
  const doc = { schema: 'cairn.flow/v1', name: 'unit', settings: { reentry: 'never', ...settings }, nodes, edges } as FlowDocument;
  return compileFlow(doc, { workspaceId: WS, flowId: 'flow-1', version: 1 });
}

const contact = (): Contact => ({
  id: 'contact-1', workspace_id: WS, external_id: null, email: 'ada@example.com', properties: {}, tags: [], score: 0, owner_id: null,
  lifecycle_stage: null, timezone: null, created_at: T0.toISOString(), updated_at: T0.toISOString(),
}) as Contact;

const trigger: StoredEvent = { id: 'ev-1', seq: 1, contact_id: 'contact-1', type: 'go', properties: {}, occurred_at: T0.toISOString() };

const newRun = (flow: CompiledFlow): Run => ({
  id: 'run-1', workspaceId: WS, flowId: flow.flowId, version: flow.version, contactId: 'contact-1', status: 'active', state: 'ready',
  nodeId: flow.trigger.id, nodeEnteredAt: T0, attempt: 1, wakeAt: null, listenEvent: null, triggerEventId: trigger.id, sinceSeq: trigger.seq,
  vars: {}, error: null, startedAt: T0, finishedAt: null,
}) as Run;

const noRouter: OwnerRouter = { assign: async () => { throw new Error('no routing in these tests'); } };

/** One pass of the executor at `now`, as the store would run it. */
async function pass(flow: CompiledFlow, run: Run, now: Date, opts: { events?: StoredEvent[]; results?: ActionResult[] } = {}) {
  const effects = new Effects();
  const env: BatchEnv = { now, flow: () => flow, triggerEvent: () => trigger, effects, router: noRouter, newTasks: [], emitted: [] };
  await processContact({ contact: contact(), runs: [run], events: opts.events ?? [], actionResults: opts.results ?? [] }, env);
  return effects;
}

const failed = (run: Run, retryable: boolean): ActionResult => ({
  runId: run.id, nodeId: run.nodeId!, attempt: run.attempt, ok: false, error: { code: 'CAIRN_ERR_STEP_FAILED', message: 'HTTP 503', retryable },
});

const counts = (effects: Effects, nodeId: string) => [...effects.stats.nodes.values()].find((n) => n.nodeId === nodeId)?.c;
const flowCounts = (effects: Effects) => [...effects.stats.flows.values()][0]?.c;

describe('processContact (pure executor)', () => {
  it('retries a retryable failure after backoff growing by the factor, then fails the run and counts it once', async () => {
    const flow = compile(
      [node('start', 'trigger.event', { event: 'go' }), node('hook', 'action.webhook', { url: 'https://example.com/h', retry: { max_attempts: 3, backoff: 'PT10S', factor: 2 } })],
      [edge('start', 'hook')],
    );
    const run = newRun(flow);
    const first = await pass(flow, run, T0);
    expect(run.state).toBe('calling');
    expect(first.actions).toEqual([{ workspaceId: WS, contactId: 'contact-1', runId: 'run-1', nodeId: 'hook', attempt: 1 }]);

    // Attempt 1 fails: sleep 10 s (still active: backing off is executing), then attempt 2.
    const e1 = await pass(flow, run, T0, { results: [failed(run, true)] });
    expect(run).toMatchObject({ status: 'active', state: 'sleeping', attempt: 2, wakeAt: new Date(T0.getTime() + 10_000) });
    expect(e1.steps.map((s) => [s.nodeId, s.status, s.attempt])).toEqual([['hook', 'failed', 1]]);
    const t1 = new Date(T0.getTime() + 10_000);
    const woke = await pass(flow, run, t1);
    expect(run.state).toBe('calling');
    expect(woke.actions.map((a) => a.attempt)).toEqual([2]);

    // Attempt 2 fails: the backoff doubles (20 s).
    await pass(flow, run, t1, { results: [failed(run, true)] });
    expect(run).toMatchObject({ state: 'sleeping', attempt: 3, wakeAt: new Date(t1.getTime() + 20_000) });
    const t2 = new Date(t1.getTime() + 20_000);
    await pass(flow, run, t2);

    // Attempt 3 of 3 fails: no `error` edge, so the run fails; node and flow count one failure.
    const last = await pass(flow, run, t2, { results: [failed(run, true)] });
    expect(run).toMatchObject({ status: 'failed', state: 'done' });
    expect(run.error).toMatchObject({ code: 'CAIRN_ERR_STEP_FAILED', message: 'HTTP 503' });
    expect(counts(last, 'hook')).toMatchObject({ failed: 1 });
    expect(flowCounts(last)).toMatchObject({ failed: 1 });
  });

  it('a failure that is not retryable takes the `error` edge at once; the run goes on and does not fail', async () => {
    const flow = compile(
      [
        node('start', 'trigger.event', { event: 'go' }),
        node('hook', 'action.webhook', { url: 'https://example.com/h', retry: { max_attempts: 5, backoff: 'PT10S' } }),
        node('ok', 'action.tag', { add: ['sent'] }),
        node('fallback', 'action.tag', { add: ['hook-failed'] }),
      ],
      [edge('start', 'hook'), edge('hook', 'ok'), edge('hook', 'fallback', 'error')],
    );
    const run = newRun(flow);
    await pass(flow, run, T0);
    const e = await pass(flow, run, T0, { results: [failed(run, false)] });
    expect(e.steps.map((s) => [s.nodeId, s.status])).toEqual([['hook', 'failed'], ['fallback', 'completed']]);
    expect(run).toMatchObject({ status: 'completed', state: 'done', attempt: 1 });
    expect(counts(e, 'hook')?.failed ?? 0).toBe(0);
    expect(flowCounts(e)).toMatchObject({ completed: 1, failed: 0 });
  });

  it('a goal event converts a waiting run; an exit_on event exits another; each counted on the flow', async () => {
    const settings = { goal: { event: 'paid' }, exit_on: [{ event: 'unsubscribed' }] };
    const flow = compile(
      [node('start', 'trigger.event', { event: 'go' }), node('wait', 'delay', { mode: 'duration', duration: 'P3D' }), node('tag', 'action.tag', { add: ['late'] })],
      [edge('start', 'wait'), edge('wait', 'tag')],
      settings,
    );
    const event = (seq: number, type: string): StoredEvent => ({ id: `ev-${seq}`, seq, contact_id: 'contact-1', type, properties: {}, occurred_at: T0.toISOString() });

    const converted = newRun(flow);
    await pass(flow, converted, T0);
    expect(converted).toMatchObject({ status: 'waiting', state: 'sleeping' });
    const g = await pass(flow, converted, T0, { events: [event(2, 'paid')] });
    expect(converted).toMatchObject({ status: 'converted', state: 'done' });
    expect(flowCounts(g)).toMatchObject({ converted: 1 });
    expect(counts(g, 'wait')).toMatchObject({ waiting: -1 });

    const exited = newRun(flow);
    await pass(flow, exited, T0);
    const x = await pass(flow, exited, T0, { events: [event(3, 'unsubscribed')] });
    expect(exited).toMatchObject({ status: 'exited', state: 'done' });
    expect(flowCounts(x)).toMatchObject({ exited: 1, converted: 0 });

    // An unrelated event changes nothing; the delay then ends and the run completes through its last node.
    const plain = newRun(flow);
    await pass(flow, plain, T0);
    await pass(flow, plain, T0, { events: [event(4, 'clicked')] });
    expect(plain.status).toBe('waiting');
    const done = await pass(flow, plain, plain.wakeAt!);
    expect(plain).toMatchObject({ status: 'completed', state: 'done' });
    expect(counts(done, 'tag')).toMatchObject({ entered: 1, completed: 1 });
    expect(flowCounts(done)).toMatchObject({ completed: 1 });
  });
});
