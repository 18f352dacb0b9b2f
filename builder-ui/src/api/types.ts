/**
 * Wire types of the public API as the builder reads them. None is written here: the answers are the components
 * and operations generated from the engine's OpenAPI document (engine/src/contracts/api.ts, `pnpm openapi`); this
 * file gives them the names the pages use. Only the canvas's editing model of a flow document is defined here.
 */
import type { ApiComponents, ApiOperations } from '@cairn/engine/contracts';

type Schemas = ApiComponents['schemas'];
/** The JSON body of an operation's answer with this status. */
type Answer<Op extends keyof ApiOperations, Status extends number> = ApiOperations[Op]['responses'] extends Record<Status, { content: { 'application/json': infer T } }> ? T : never;

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

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

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

export type Contact = Schemas['Contact'];
export type TimelineItem = Answer<'getContactTimeline', 200>['items'][number];
export type Plugin = Schemas['Plugin'];
export type Owner = Schemas['Owner'];
export type TestResult = Answer<'testFlow', 200>;
