import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Condition, CoreNodeConfigs, CoreNodeType, FlowDocument, NodeTypeSpec, Reentry, RetryConfig } from '../contracts/flow.ts';
import { coreNodeType } from './node-types.ts';
import { compileCondition } from '../rules/index.ts';
import { compileTemplates, type RenderBudget } from './templates.ts';
import { durationMs } from '../time/duration.ts';

/** Facts a condition or template sees. `run` holds the outputs of the run's earlier steps, by node id. */
export interface Facts {
  contact: Record<string, unknown>;
  event: Record<string, unknown> | null;
  run: Record<string, unknown>;
  /** The `activity` fact (behavioural attributes), loaded by the executor for flows that read it. */
  activity?: (params: Record<string, unknown>) => unknown;
}

export type Predicate = (facts: Facts, now: Date) => boolean;

export type NodeKind = 'trigger' | 'condition' | 'split' | 'delay' | 'wait' | 'action' | 'end';

export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  factor: number;
}

/** The kind the executor dispatches on, fixed by the node type (plugin actions are actions). */
export type KindOf<T extends string> = T extends `trigger.${string}` ? 'trigger'
  : T extends 'condition' ? 'condition'
  : T extends 'split' ? 'split'
  : T extends 'delay' ? 'delay'
  : T extends 'wait_for_event' ? 'wait'
  : T extends 'end' ? 'end'
  : 'action';

/** Plugin actions' config follows their manifest's JSON Schema, known only at run time. */
export type PluginNodeType = `plugin:${string}`;
export type PluginNodeConfig = Record<string, unknown> & { retry?: RetryConfig };

interface CompiledNodeOf<T extends string, C> {
  id: string;
  type: T;
  kind: KindOf<T>;
  /** Config with schema defaults applied. */
  config: C;
  /** Out-handle → target node id. The unnamed handle is `default`. */
  out: ReadonlyMap<string, string>;
  /** condition: the rule; wait_for_event: its optional match rule; trigger.event: its optional `when`. */
  test?: Predicate;
  /** Renders the config's Liquid templates for one contact/event/run, charging the run's render budget. */
  render: (facts: Facts, budget?: RenderBudget) => Promise<C>;
  external: boolean;
  retry: RetryPolicy;
}

/**
 * A node in the executor's form, discriminated by `type` (and so by `kind`): narrowing on either gives the
 * config its contract shape (contracts/flow.ts `CoreNodeConfigs`).
 */
export type CompiledNode =
  | { [T in CoreNodeType]: CompiledNodeOf<T, CoreNodeConfigs[T]> }[CoreNodeType]
  | CompiledNodeOf<PluginNodeType, PluginNodeConfig>;
export type CompiledNodeOfKind<K extends NodeKind> = Extract<CompiledNode, { kind: K }>;

export interface CompiledFlow {
  workspaceId: string;
  flowId: string;
  version: number;
  name: string;
  reentry: Reentry;
  goal: { event?: string; test?: Predicate } | null;
  exitOn: { event: string; test?: Predicate }[];
  trigger: CompiledNodeOfKind<'trigger'>;
  nodes: ReadonlyMap<string, CompiledNode>;
  pluginPins: Record<string, string>;
  /** Whether a step may read the triggering event (the executor then loads it). */
  readsTriggerEvent: boolean;
  /** Whether open runs react to the contact's later events (goal, exit_on, wait_for_event). */
  listensToEvents: boolean;
  /** The behavioural attributes its conditions read (`activity` fact): event types and windows; none: nothing loaded. */
  activity: ActivityReads;
  /** The flow's quiet hours for email; null: none; undefined: the workspace's. */
  quietHours?: { start: string; end: string } | null;
}

const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: false });
addFormats.default(ajv);
const defaultsFor = new Map<string, ValidateFunction>();

function applyDefaults(spec: NodeTypeSpec | undefined, config: unknown): Record<string, unknown> {
  const copy = structuredClone((config ?? {}) as Record<string, unknown>);
  if (!spec) return copy;
  let fn = defaultsFor.get(spec.type);
  if (!fn) {
    fn = ajv.compile(spec.config_schema);
    defaultsFor.set(spec.type, fn);
  }
  fn(copy);
  return copy;
}

function kindOf(type: string): NodeKind {
  if (type.startsWith('trigger.')) return 'trigger';
  if (type === 'condition') return 'condition';
  if (type === 'split') return 'split';
  if (type === 'delay') return 'delay';
  if (type === 'wait_for_event') return 'wait';
  if (type === 'end') return 'end';
  return 'action';
}

const predicate = (rule: Condition | undefined): Predicate | undefined => {
  if (!rule) return undefined;
  const evaluate = compileCondition(rule);
  return (facts, now) => evaluate(facts as never, { now });
};

/** trigger.segment fires on `segment.entered`/`segment.exited` (by `on`) of its own segment. */
const segmentTest = (key: string): Predicate => (facts) => {
  const props = (facts as { event?: { properties?: { segment?: unknown } } }).event?.properties;
  return props?.segment === key;
};

const NO_RETRY: RetryPolicy = { maxAttempts: 1, backoffMs: 0, factor: 1 };

function retryPolicy(config: { retry?: Partial<RetryConfig> }, kind: NodeKind): RetryPolicy {
  if (kind !== 'action') return NO_RETRY;
  const r = config.retry;
  return {
    maxAttempts: r?.max_attempts ?? 3,
    backoffMs: durationMs(r?.backoff ?? 'PT10S', new Date(0)),
    factor: r?.factor ?? 2,
  };
}

/**
 * A validated document → the executor's form: adjacency by handle, conditions and templates compiled once.
 * Versions are immutable, so a compiled version is cached for the life of the process.
 */
export function compileFlow(
  doc: FlowDocument,
  ids: { workspaceId: string; flowId: string; version: number; pluginPins?: Record<string, string> },
  resolveNodeType: (type: string) => NodeTypeSpec | undefined = coreNodeType,
): CompiledFlow {
  const outs = new Map<string, Map<string, string>>();
  for (const e of doc.edges) {
    const handle = e.sourceHandle ?? 'default';
    let m = outs.get(e.source);
    if (!m) outs.set(e.source, (m = new Map()));
    if (!m.has(handle)) m.set(handle, e.target);
  }
  const nodes = new Map<string, CompiledNode>();
  let trigger: CompiledNodeOfKind<'trigger'> | undefined;
  for (const n of doc.nodes) {
    const spec = resolveNodeType(n.type);
    const kind = kindOf(n.type);
    const config = applyDefaults(spec, n.config);
    // ajv's useDefaults does not reach into oneOf branches: a delay without `mode` is a duration delay.
    if (kind === 'delay') config.mode ??= 'duration';
    const rule = (kind === 'condition' || kind === 'wait' ? config.rule : kind === 'trigger' ? config.when : undefined) as Condition | undefined;
    // The one place a config becomes its contract type: the document was validated against the type's schema.
    const node = {
      id: n.id,
      type: n.type,
      kind,
      config,
      out: outs.get(n.id) ?? new Map(),
      test: n.type === 'trigger.segment' ? segmentTest(String(config.segment)) : predicate(rule),
      render: kind === 'action' ? compileTemplates(config) : async () => config,
      external: spec?.external ?? n.type.startsWith('plugin:'),
      retry: retryPolicy(config, kind),
    } as CompiledNode;
    nodes.set(n.id, node);
    if (node.kind === 'trigger') trigger = node;
  }
  if (!trigger) throw new Error(`flow ${ids.flowId} v${ids.version} has no trigger`);
  const goal = doc.settings.goal ? { event: doc.settings.goal.event, test: predicate(doc.settings.goal.rule) } : null;
  // Conservative: any rule on the `event` fact, any template naming `event`, or any external action (it is handed the event).
  const readsTriggerEvent = doc.nodes.some((n) => {
    const node = nodes.get(n.id)!;
    if (node.external) return true;
    const text = JSON.stringify(node.kind === 'trigger' ? { when: node.type === 'trigger.event' ? node.config.when : undefined } : node.config);
    return text.includes('"fact":"event"') || /\bevent\b/.test(text.replace(/"event":/g, ''));
  }) || JSON.stringify(doc.settings).includes('"fact":"event"');
  const listensToEvents = !!doc.settings.goal || (doc.settings.exit_on ?? []).length > 0 || doc.nodes.some((n) => n.type === 'wait_for_event');
  return {
    ...ids,
    name: doc.name,
    pluginPins: ids.pluginPins ?? {},
    reentry: doc.settings.reentry ?? 'after_exit',
    goal,
    exitOn: (doc.settings.exit_on ?? []).map((x) => ({ event: x.event, test: predicate(x.rule) })),
    trigger,
    nodes,
    readsTriggerEvent,
    listensToEvents,
    activity: activityReads([doc.nodes.map((n) => n.config), doc.settings]),
    quietHours: doc.settings.quiet_hours,
  };
}

/** What a flow's `activity` conditions read: the event types, and the windows (`within`) counted over. */
export interface ActivityReads {
  types: string[];
  windows: string[];
}

/** Every `activity` leaf anywhere in the flow's conditions (trigger `when`, condition nodes, waits, goal, exit_on). */
export function activityReads(parts: unknown[]): ActivityReads {
  const types = new Set<string>();
  const windows = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.fact === 'activity' && o.params && typeof o.params === 'object') {
      const p = o.params as Record<string, unknown>;
      if (typeof p.event === 'string') types.add(p.event);
      if (typeof p.within === 'string') windows.add(p.within);
    }
    Object.values(o).forEach(walk);
  };
  walk(parts);
  return { types: [...types], windows: [...windows] };
}
