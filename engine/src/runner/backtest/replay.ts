import type { CompiledFlow } from '../../flow/compile.ts';
import { newId } from '../../db/ids.ts';
import type { Json, OwnerRouter } from '../ports.ts';
import { Effects, processContact, type BatchEnv } from '../executor.ts';
import type { EmittedEvent, NewTask } from '../in-engine-actions.ts';
import type { ActionResult, Contact, Run, StepRecord, StoredEvent } from '../model.ts';
import { StatsDelta, type FlowCounts, type NodeCounts } from '../stats.ts';

/** What a backtest found for one node. `branches`: condition true/false, split keys (and holdout), wait event/timeout. */
export interface NodeResult {
  entered: number;
  completed: number;
  failed: number;
  /** Runs that started waiting here (delay, wait_for_event). */
  waited: number;
  timed_out: number;
  converted: number;
  exited: number;
  /** Runs still waiting here when the period ended. */
  waiting: number;
  branches: Record<string, number>;
  samples: { contact_id: string; why: string }[];
}

export interface BacktestResult {
  nodes: Record<string, NodeResult>;
  /** Actions that would have been performed, by node type (external ones counted, never called). */
  actions: Record<string, number>;
  runs: { started: number; active: number; completed: number; converted: number; exited: number; failed: number };
  conversion: { goal: boolean; converted: number; started: number; rate: number | null };
}

/** The executor's counters, added straight into the backtest's per-node totals (one StatsDelta for the whole replay). */
class ReplayStats extends StatsDelta {
  constructor(private readonly result: BacktestResult, private readonly compiled: CompiledFlow) {
    super();
  }

  override node(_w: string, _f: string, _v: number, nodeId: string, field: keyof NodeCounts, by = 1): void {
    const n = this.result.nodes[nodeId];
    if (!n) return;
    n[field] += by;
    const kind = this.compiled.nodes.get(nodeId)?.kind;
    if (field === 'waiting' && by > 0 && (kind === 'delay' || kind === 'wait')) n.waited += by;
  }

  override flow(_w: string, _f: string, _v: number, field: keyof FlowCounts, by = 1): void {
    if (field !== 'started' && field !== 'cancelled') this.result.runs[field] += by;
  }
}

class ReplayEffects extends Effects {
  override readonly stats: StatsDelta;
  constructor(stats: StatsDelta) {
    super();
    this.stats = stats;
  }
}

interface ContactState {
  contact: Contact;
  runs: Run[];
  /** Trigger events of the open runs (a step may read `event`). */
  triggers: Map<string, StoredEvent>;
}

/** A min-heap of wake-up times: a delay ending, a wait timing out. Stale entries are skipped when popped. */
class Timers {
  private readonly heap: { at: number; contactId: string }[] = [];

  push(at: number, contactId: string): void {
    const h = this.heap;
    h.push({ at, contactId });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  popDue(upTo: number): { at: number; contactId: string } | undefined {
    const h = this.heap;
    if (h.length === 0 || h[0]!.at > upTo) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** A feedback loop guard: external actions answered in turn (each answer may lead to the next action). */
const MAX_ACTION_ROUNDS = 100;

/**
 * Replays recorded events against one compiled flow on a simulated clock, with the run executor itself
 * (`processContact`): the same triggers, conditions, delays, waits, goals, exit rules and re-entry as live runs.
 * Nothing is written or sent: external actions are answered "ok" in memory and counted, in-engine actions change
 * only an in-memory copy of the contact, emitted events and tasks are counted and dropped.
 *
 * Memory: only contacts with an open run (and, for `reentry: never`, the ids of contacts that entered) are held.
 */
export class Replay {
  readonly result: BacktestResult;
  private readonly stats: ReplayStats;
  private readonly open = new Map<string, ContactState>();
  private readonly entered = new Set<string>();
  private readonly timers = new Timers();
  private now: Date;

  constructor(private readonly flow: CompiledFlow, private readonly router: OwnerRouter, private readonly sample: number, from: Date) {
    this.now = from;
    const nodes: Record<string, NodeResult> = {};
    for (const id of flow.nodes.keys()) {
      nodes[id] = { entered: 0, completed: 0, failed: 0, waited: 0, timed_out: 0, converted: 0, exited: 0, waiting: 0, branches: {}, samples: [] };
    }
    this.result = {
      nodes,
      actions: {},
      runs: { started: 0, active: 0, completed: 0, converted: 0, exited: 0, failed: 0 },
      conversion: { goal: !!flow.goal, converted: 0, started: 0, rate: null },
    };
    this.stats = new ReplayStats(this.result, flow);
  }

  /** Whether this event concerns the flow: it may start a run, or the contact has open runs. */
  wants(ev: StoredEvent): boolean {
    return this.open.has(ev.contact_id) || this.triggeredBy(ev.type);
  }

  /** Contacts whose stored state the replay may need: any that these events may start a run for (a run open now may end first). */
  contactsToLoad(events: StoredEvent[]): string[] {
    return [...new Set(events.filter((e) => this.triggeredBy(e.type)).map((e) => e.contact_id))];
  }

  private triggeredBy(type: string): boolean {
    return this.triggerType !== null && this.triggerType === type;
  }

  /** The event type that starts a run, as publishing records it (flow/service.ts): a segment trigger's transition event. */
  private get triggerType(): string | null {
    const t = this.flow.trigger;
    if (t.type === 'trigger.event') return String(t.config.event);
    if (t.type === 'trigger.segment') return t.config.on === 'exit' ? 'segment.exited' : 'segment.entered';
    return null;
  }

  /**
   * Every event type the flow can react to: its trigger, goal, exit rules and waits. The executor ignores any other
   * event (a goal given as a rule alone is checked when a run moves, not on events), so the job streams only these.
   */
  reactsTo(): string[] {
    const types = new Set<string>();
    if (this.triggerType) types.add(this.triggerType);
    if (this.flow.goal?.event) types.add(this.flow.goal.event);
    for (const x of this.flow.exitOn) types.add(x.event);
    for (const n of this.flow.nodes.values()) if (n.kind === 'wait') types.add(String(n.config.event));
    return [...types];
  }

  /** One recorded event, at its own time (never before the previous one). `contact`: the stored contact, when not held. */
  async event(ev: StoredEvent, contact: Contact | undefined): Promise<void> {
    const at = new Date(ev.occurred_at);
    await this.fireTimers(at.getTime());
    if (at > this.now) this.now = at;
    let state = this.open.get(ev.contact_id);
    if (!state && !contact) return;
    const newRun = this.enroll(ev, state?.contact ?? contact!, state);
    if (!state && !newRun) return;
    if (!state) state = { contact: structuredClone(contact!), runs: [], triggers: new Map() };
    if (newRun) {
      state.runs.push(newRun);
      state.triggers.set(newRun.id, ev);
    }
    await this.advance(state, [ev]);
  }

  /** Ends the period: timers due by `to` fire; runs still open count as active. */
  async finish(to: Date): Promise<BacktestResult> {
    await this.fireTimers(to.getTime());
    const r = this.result.runs;
    r.active = r.started - r.completed - r.converted - r.exited - r.failed;
    this.result.conversion = { goal: !!this.flow.goal, converted: r.converted, started: r.started, rate: this.flow.goal && r.started > 0 ? r.converted / r.started : null };
    return this.result;
  }

  private async fireTimers(upTo: number): Promise<void> {
    for (let t = this.timers.popDue(upTo); t; t = this.timers.popDue(upTo)) {
      const state = this.open.get(t.contactId);
      if (!state || !state.runs.some((r) => r.wakeAt && r.wakeAt.getTime() <= t.at)) continue;
      if (t.at > this.now.getTime()) this.now = new Date(t.at);
      await this.advance(state, []);
    }
  }

  /** Re-entry as enrollment applies it: `always` any time, `after_exit` when no run is open, `never` once. */
  private enroll(ev: StoredEvent, contact: Contact, state: ContactState | undefined): Run | null {
    if (!this.triggeredBy(ev.type)) return null;
    const flow = this.flow;
    if (flow.trigger.test) {
      const facts = { contact: contact as unknown as Record<string, unknown>, event: { id: ev.id, type: ev.type, properties: ev.properties, occurred_at: ev.occurred_at }, run: {} };
      try {
        if (!flow.trigger.test(facts, this.now)) return null;
      } catch {
        this.stats.node(flow.workspaceId, flow.flowId, flow.version, flow.trigger.id, 'failed');
        return null;
      }
    }
    if (flow.reentry !== 'always' && state?.runs.some((r) => r.state !== 'done')) return null;
    if (flow.reentry === 'never') {
      if (this.entered.has(ev.contact_id)) return null;
      this.entered.add(ev.contact_id);
    }
    this.result.runs.started++;
    return {
      id: newId(this.now.getTime()), workspaceId: flow.workspaceId, flowId: flow.flowId, version: flow.version, contactId: ev.contact_id,
      status: 'active', state: 'ready', nodeId: flow.trigger.id, nodeEnteredAt: this.now, attempt: 1, wakeAt: null, listenEvent: null,
      triggerEventId: ev.id, sinceSeq: ev.seq, vars: {}, error: null, startedAt: this.now, finishedAt: null,
    };
  }

  /** Runs the executor on one contact until its runs wait; external actions are answered in memory and counted. */
  private async advance(state: ContactState, events: StoredEvent[]): Promise<void> {
    // Tasks and emitted events are counted by their steps; they are dropped, never written.
    const newTasks: NewTask[] = [];
    const emitted: EmittedEvent[] = [];
    let actionResults: ActionResult[] = [];
    for (let round = 0; round < MAX_ACTION_ROUNDS; round++) {
      const effects = new ReplayEffects(this.stats);
      const env: BatchEnv = {
        now: this.now, flow: () => this.flow, triggerEvent: (id) => [...state.triggers.values()].find((e) => e.id === id),
        effects, router: this.router, newTasks, emitted,
      };
      const before = new Map(state.runs.map((r) => [r.id, r.state]));
      await processContact({ contact: state.contact, runs: state.runs, events: round === 0 ? events : [], actionResults }, env);
      this.tally(state, effects.steps, before);
      actionResults = effects.actions.map((a) => ({ runId: a.runId, nodeId: a.nodeId, attempt: a.attempt, ok: true, output: { backtest: true } as Json }));
      if (actionResults.length === 0) break;
    }
    state.runs = state.runs.filter((r) => r.state !== 'done');
    for (const id of state.triggers.keys()) if (!state.runs.some((r) => r.id === id)) state.triggers.delete(id);
    if (state.runs.length === 0) {
      this.open.delete(state.contact.id);
      return;
    }
    this.open.set(state.contact.id, state);
    for (const r of state.runs) if (r.wakeAt && (r.state === 'sleeping' || r.state === 'listening')) this.timers.push(r.wakeAt.getTime(), state.contact.id);
  }

  private count(type: string, by = 1): void {
    this.result.actions[type] = (this.result.actions[type] ?? 0) + by;
  }

  /** Branches, timeouts, action counts and samples from the steps; conversions and exits where the run stood. */
  private tally(state: ContactState, steps: StepRecord[], before: Map<string, string>): void {
    const contactId = state.contact.id;
    for (const s of steps) {
      const node = this.flow.nodes.get(s.nodeId);
      const n = this.result.nodes[s.nodeId];
      if (!node || !n) continue;
      if (s.status === 'deferred') continue;
      const out = (s.output ?? {}) as Record<string, unknown>;
      let why: string;
      if (s.status === 'failed') why = `failed: ${(s.error as { message?: string } | null)?.message ?? 'error'}`;
      else if (node.kind === 'condition') {
        why = `rule ${out.result ? 'held' : 'did not hold'}`;
        this.branch(n, out.result ? 'true' : 'false');
      } else if (node.kind === 'split') {
        const b = out.branch === null ? 'holdout' : String(out.branch);
        why = `branch ${b}`;
        this.branch(n, b);
      } else if (node.kind === 'wait') {
        if (out.handle === 'timeout') {
          n.timed_out++;
          why = 'timed out';
        } else why = `event ${String((out.event_id as string | undefined) ?? '')} arrived`;
        this.branch(n, String(out.handle));
      } else if (node.kind === 'delay') why = `waited until ${String(out.waited_until)}`;
      else if (node.kind === 'action') {
        this.count(node.type);
        why = node.external ? 'would have been called (counted, not called)' : 'would have run (nothing written)';
      } else if (node.kind === 'trigger') why = `entered on event ${state.triggers.get(s.runId)?.type ?? ''} at ${s.finishedAt.toISOString()}`;
      else why = 'reached the end';
      if (n.samples.length < this.sample && !n.samples.some((x) => x.contact_id === contactId)) n.samples.push({ contact_id: contactId, why });
    }
    for (const r of state.runs) {
      if (r.state !== 'done' || before.get(r.id) === 'done' || !r.nodeId) continue;
      const n = this.result.nodes[r.nodeId];
      if (n && (r.status === 'converted' || r.status === 'exited')) n[r.status]++;
    }
  }

  private branch(n: NodeResult, key: string): void {
    n.branches[key] = (n.branches[key] ?? 0) + 1;
  }
}
