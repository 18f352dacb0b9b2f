/**
 * Wire types of the public API as the builder reads them. None is written here: the answers are the components
 * and operations generated from the engine's OpenAPI document (engine/src/contracts/api.ts, `pnpm openapi`); this
 * file gives them the names the pages use. Only the canvas's editing model of a flow document is defined here.
 */
import type { ApiComponents, ApiOperations } from '@cairn/engine/contracts';

type Schemas = ApiComponents['schemas'];
/** The JSON body of an operation's answer with this status. */
type Answer<Op extends keyof ApiOperations, Status extends number> = ApiOperations[Op]['responses'] extends Record<Status, { content: { 'application/json': infer T } }> ? T : never;
/** The JSON body an operation takes. */
export type RequestBody<Op extends keyof ApiOperations> = ApiOperations[Op] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type Me = Schemas['Me'];
export type Role = Me['role'];

// The canvas's model of a flow document while it is edited: a draft may be incomplete or carry keys the builder
// does not know yet, so it is looser than the engine's FlowDocument contract (which validate/publish apply).
/** A json-rules-engine condition object (`all`/`any`/`not` groups, or a fact comparison). */
export type RuleJson = Record<string, unknown>;

export interface FlowNodeDoc {
  id: string;
  type: string;
  position: { x: number; y: number };
  config: Record<string, unknown>;
  label?: string;
  [extra: string]: unknown;
}

export interface FlowEdgeDoc {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  label?: string;
  [extra: string]: unknown;
}

export interface FlowSettings {
  reentry?: 'never' | 'after_exit' | 'always';
  goal?: { event?: string; rule?: RuleJson } | null;
  exit_on?: Array<{ event: string; rule?: RuleJson }>;
  [extra: string]: unknown;
}

export interface FlowDocument {
  schema: 'cairn.flow/v1';
  name: string;
  settings?: FlowSettings;
  nodes: FlowNodeDoc[];
  edges: FlowEdgeDoc[];
  [extra: string]: unknown;
}


/** A flow as GET /v1/flows/{id} answers; its draft is a (possibly incomplete) cairn.flow/v1 document. */
export type Flow = Omit<Schemas['Flow'], 'draft'> & { draft: FlowDocument };
export type FlowSummary = Schemas['FlowSummary'];
export type FlowVersionSummary = Schemas['Flow']['versions'][number];
export type FlowVersion = Omit<Answer<'getFlowVersion', 200>, 'document'> & { document: FlowDocument };

export type ValidationError = Schemas['ProblemItem'];
export type ValidationResult = Schemas['FlowValidation'];
export type FlowStats = Schemas['FlowStats'];
export type NodeStats = FlowStats['nodes'][string];

export type CatalogNode = Schemas['CatalogNode'];
export type Catalog = Answer<'getCatalog', 200>;

export type RunStatus = Schemas['Run']['status'];
export type RunStep = Schemas['RunDetail']['steps'][number];
/** A run as listed (with its node's label) or read alone (with its steps, variables and every node's label). */
export type Run = Schemas['RunListItem'] & Partial<Pick<Schemas['RunDetail'], 'node_labels' | 'vars' | 'steps'>>;
export type RunDetail = Schemas['RunDetail'];
/** The runs list's filters the screens use (`GET /v1/runs`). */
export type RunFilters = Pick<NonNullable<ApiOperations['listRuns']['parameters']['query']>, 'flow_id' | 'status' | 'contact_id'>;

export type Contact = Schemas['Contact'];
/** Contacts by search (`q`), email, tag, segment…, as `GET /v1/contacts` filters them. */
export type ContactFilters = Omit<NonNullable<ApiOperations['listContacts']['parameters']['query']>, 'limit' | 'cursor'>;
export type TimelineItem = Answer<'getContactTimeline', 200>['items'][number];
export type ContactSegments = Answer<'getContactSegments', 200>;
/** The workspace's known contact properties, tags and event properties (`GET /v1/fields`), for the pickers. */
export type KnownFields = Answer<'listFields', 200>;
export type Plugin = Schemas['Plugin'];
export type Owner = Schemas['Owner'];
export type RoutingPool = Schemas['RoutingPool'];
export type Task = Schemas['Task'];
export type TestResult = Answer<'testFlow', 200>;

export type Segment = Schemas['Segment'];
export type SegmentPreview = Answer<'previewSegment', 200>;

export type Kpis = Schemas['Kpis'];
export type FlowKpi = Kpis['flows'][number];

export type Backtest = Schemas['Backtest'];
export type BacktestNode = Backtest['nodes'][string];
export type BacktestComparison = Schemas['BacktestComparison'];

export type EmailSettings = Schemas['EmailSettings'];
export type EmailPolicy = Schemas['EmailPolicy'];
export type FrequencyCap = EmailPolicy['frequency_caps'][number];
export type OutboxMessage = Schemas['OutboxMessage'];
export type EmailPreview = Answer<'previewEmail', 200>;

export type ReferralProgram = Schemas['ReferralProgram'];
export type LoyaltyProgram = Schemas['LoyaltyProgram'];
export type Reward = Schemas['Reward'];
export type ScoringModel = Schemas['ScoringModel'];
export type ScoringRule = ScoringModel['rules'][number];
export type ContactScore = Answer<'getContactScore', 200>;
