/**
 * Wire types of the flow document (`cairn.flow/v1`). Pure types and constants: the builder UI imports this
 * module through `@cairn/engine/contracts`, so nothing here may import Node or database code.
 */

export const FLOW_SCHEMA_ID = 'cairn.flow/v1';

/** A flow's key: names it in a directory of flow files (`<key>.flow.json`, `cairn flows pull/push`); unique in a workspace. */
export const FLOW_KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,99}$/;

/** A json-rules-engine condition (unchanged format) over the facts `contact`, `event` and `run`. */
export type Condition = AllCondition | AnyCondition | NotCondition | LeafCondition;
export interface AllCondition { all: Condition[]; priority?: number; name?: string }
export interface AnyCondition { any: Condition[]; priority?: number; name?: string }
export interface NotCondition { not: Condition; priority?: number; name?: string }
export type FactName = 'contact' | 'event' | 'run';
export interface FactReference { fact: FactName; path?: string; params?: Record<string, unknown> }
export interface LeafCondition {
  fact: FactName;
  /** JSONPath starting with `$`, e.g. `$.properties.country`. */
  path?: string;
  operator: string;
  value: unknown;
  params?: Record<string, unknown>;
  priority?: number;
  name?: string;
}

// Type aliases rather than interfaces, so a document is assignable to the API's JSON object types (an alias of an
// object type has an implicit index signature; an interface has none) and reaches the typed client unconverted.
export type FlowPosition = { x: number; y: number };

export type FlowNode<T extends string = string, C = Record<string, unknown>> = {
  id: string;
  type: T;
  position: FlowPosition;
  config: C;
  label?: string;
  /**
   * Plugin nodes only: the plugin version this node runs (`1.2.0`, or a pre-release such as `2.0.0-beta.1`).
   * Omitted: the version the flow's previous publication pinned, else the plugin's latest stable version.
   */
  plugin_version?: string;
};

export type FlowEdge = {
  id: string;
  source: string;
  /** Omitted (or null) for a node's single unnamed out-handle (`default`). */
  sourceHandle?: string | null;
  target: string;
};

export type Reentry = 'never' | 'after_exit' | 'always';

export type FlowSettings = {
  reentry: Reentry;
  goal?: { event?: string; rule?: Condition } | null;
  exit_on?: { event: string; rule?: Condition }[];
  /** This flow's emails' quiet hours (contact's clock); null: none; absent: the workspace's. */
  quiet_hours?: { start: string; end: string } | null;
};

export type FlowDocument = {
  schema: typeof FLOW_SCHEMA_ID;
  name: string;
  description?: string;
  settings: FlowSettings;
  nodes: FlowNode[];
  edges: FlowEdge[];
};

/** One problem found in a document: a JSON Pointer into it, a message naming the value and the fix. */
export interface FlowValidationError {
  path: string;
  message: string;
  node_id?: string;
}

export interface FlowValidationResult {
  valid: boolean;
  errors: FlowValidationError[];
}

/* ------------------------------------------------------------------ node configs (defaults applied) */

/** ISO 8601 duration such as `P3D`, `PT2H`; offsets may start with `-` (`-P30D`). */
export type IsoDuration = string;
/** `HH:mm`, 24-hour clock, in the contact's timezone. */
export type TimeOfDay = string;

export interface RetryConfig { max_attempts: number; backoff: IsoDuration; factor?: number }
interface ActionCommon { retry?: RetryConfig }

export interface TriggerEventConfig { event: string; when?: Condition }
export interface TriggerSegmentConfig { segment: string; on: 'enter' | 'exit' }
export interface TriggerScheduleConfig { cron: string; timezone: string; segment?: string }
export interface TriggerDateConfig { property: string; offset: IsoDuration; at?: TimeOfDay }
export interface ConditionConfig { rule: Condition }
export interface SplitConfig { branches: { key: string; weight: number }[]; holdout?: number }
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export type DelayConfig =
  | { mode: 'duration'; duration: IsoDuration }
  | { mode: 'time_of_day'; time: TimeOfDay; weekdays?: Weekday[] }
  | { mode: 'date_property'; property: string; offset?: IsoDuration; time?: TimeOfDay };
export interface WaitForEventConfig { event: string; rule?: Condition; timeout: IsoDuration }
export interface SetPropertyConfig extends ActionCommon { properties: Record<string, unknown> }
export interface TagConfig extends ActionCommon { add?: string[]; remove?: string[] }
export interface ScoreConfig extends ActionCommon { delta?: number; set?: number }
export interface AssignOwnerConfig extends ActionCommon {
  pool: string;
  strategy: 'round_robin' | 'weighted' | 'territory';
  territory_property?: string;
  overwrite: boolean;
  /** Pick someone other than the contact's current owner (reassignment). */
  exclude_current_owner?: boolean;
}
export interface CreateTaskConfig extends ActionCommon { title: string; body?: string; assignee: string; due_in?: IsoDuration }
export interface SendEmailConfig extends ActionCommon { subject: string; html?: string; text?: string; from?: string; category?: string }
export type HttpMethod = 'POST' | 'PUT' | 'PATCH' | 'GET' | 'DELETE';
export interface WebhookConfig extends ActionCommon {
  url: string;
  method: HttpMethod;
  headers?: Record<string, string>;
  body?: unknown;
  timeout_ms: number;
}
export interface EmitEventConfig extends ActionCommon { event: string; properties?: Record<string, unknown> }
export interface EndConfig { outcome: 'completed' | 'converted' | 'exited' }

/** Node type → its config shape, for the core types. */
export interface CoreNodeConfigs {
  'trigger.event': TriggerEventConfig;
  'trigger.segment': TriggerSegmentConfig;
  'trigger.schedule': TriggerScheduleConfig;
  'trigger.date': TriggerDateConfig;
  condition: ConditionConfig;
  split: SplitConfig;
  delay: DelayConfig;
  wait_for_event: WaitForEventConfig;
  'action.set_property': SetPropertyConfig;
  'action.tag': TagConfig;
  'action.score': ScoreConfig;
  'action.assign_owner': AssignOwnerConfig;
  'action.create_task': CreateTaskConfig;
  'action.send_email': SendEmailConfig;
  'action.webhook': WebhookConfig;
  'action.emit_event': EmitEventConfig;
  end: EndConfig;
}
export type CoreNodeType = keyof CoreNodeConfigs;

/* ------------------------------------------------------------------ catalog */

export type NodeCategory = 'trigger' | 'logic' | 'timing' | 'action' | 'end';

/** A JSON Schema (draft-07) object; kept loose so plugin schemas fit too. */
export type JsonSchema = Record<string, unknown>;

/**
 * One entry of `GET /v1/catalog`. `handles.out` lists the out-handles: `default` is the single unnamed
 * out-handle (edges from it omit `sourceHandle`); `'branches'` means the keys of `config.branches` (split).
 * Actions list `error` too: optional, taken when the step fails after its retries.
 */
export interface NodeTypeSpec {
  type: string;
  title: string;
  description: string;
  category: NodeCategory;
  handles: { in: boolean; out: string[] | 'branches' };
  config_schema: JsonSchema;
  /** True when the node talks to the outside world and so runs outside the run's database transaction. */
  external: boolean;
}

/** The unnamed out-handle's name in `handles.out`. */
export const DEFAULT_HANDLE = 'default';
/** The out-handle every action may have, taken after its retries are spent. */
export const ERROR_HANDLE = 'error';

/** Any JSON value: step outputs, event properties, action results. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
