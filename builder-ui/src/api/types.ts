/**
 * Wire types of the public API (see CONTRACT.md) as the builder reads them. Defined here because the
 * engine's `contracts` subpath does not export them yet; fields the contract leaves open are optional and
 * read defensively so that the UI keeps working as the engine fills them in.
 */

export type Role = 'admin' | 'editor' | 'viewer' | 'ingest';

export interface Me {
  user: { id: string; email: string; name?: string | null };
  workspace: { id: string; slug: string; name?: string | null };
  role: Role;
  csrf_token: string;
}

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

export interface FlowVersionSummary {
  version: number;
  published_at?: string;
  note?: string | null;
  published_by?: string | null;
}

export interface Flow {
  id: string;
  name: string;
  status: 'draft' | 'active' | 'paused' | 'archived' | string;
  draft: FlowDocument;
  /** Entity tag of the draft: sent back as If-Match so a stale copy never overwrites a newer draft. */
  draft_etag?: string;
  published_version: number | null;
  versions?: FlowVersionSummary[];
  updated_at?: string;
  created_at?: string;
  active_runs?: number;
  conversion_rate?: number | null;
  has_goal?: boolean;
}

export interface FlowVersion {
  version: number;
  document: FlowDocument;
  note?: string | null;
  published_at?: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface ValidationError {
  path: string;
  message: string;
  node_id?: string;
}

export interface ValidationResult {
  valid: boolean;
  errors: ValidationError[];
}

export interface NodeStats {
  entered: number;
  completed: number;
  failed: number;
  waiting: number;
}

export interface FlowStats {
  nodes: Record<string, NodeStats>;
  runs: { active: number; completed: number; converted: number; exited: number; failed: number };
}

export interface CatalogNode {
  type: string;
  title: string;
  category: string;
  description?: string;
  /** Shape left open by the contract; normalised by `graph/handles.ts`. */
  handles: unknown;
  config_schema: Record<string, unknown>;
}

export interface Catalog {
  nodes: CatalogNode[];
}

export type RunStatus = 'active' | 'waiting' | 'completed' | 'converted' | 'exited' | 'failed' | 'cancelled';

export interface RunStep {
  id?: string;
  node_id: string;
  node_type?: string;
  status: string;
  attempt: number;
  started_at: string | null;
  finished_at: string | null;
  input?: unknown;
  output?: unknown;
  error?: unknown;
}

export interface Run {
  id: string;
  flow_id: string;
  flow_name?: string;
  contact_email?: string | null;
  /** The label of the node the run is at (list), and every node's label in its version (one run). */
  node_label?: string | null;
  node_labels?: Record<string, string>;
  version: number;
  contact_id: string;
  status: RunStatus | string;
  current_node_id?: string | null;
  last_node_id?: string | null;
  waiting?: { until: string | null; event: string | null } | null;
  error?: unknown;
  started_at?: string;
  created_at?: string;
  finished_at?: string | null;
  updated_at?: string;
  steps?: RunStep[];
}

export interface Contact {
  id: string;
  external_id: string | null;
  email: string | null;
  properties: Record<string, unknown>;
  tags: string[];
  score: number;
  owner_id: string | null;
  lifecycle_stage: string | null;
  timezone: string | null;
  created_at: string;
  updated_at: string;
}

export interface TimelineItem {
  kind?: string;
  type?: string;
  id?: string;
  at?: string;
  occurred_at?: string;
  created_at?: string;
  [extra: string]: unknown;
}

export interface Plugin {
  id: string;
  name?: string;
  version?: string;
  versions?: Array<string | { version: string; created_at?: string }>;
  enabled?: boolean;
  description?: string;
  actions?: Array<{ key: string; title?: string }>;
  credentials_schema?: Record<string, unknown> | null;
  manifest?: Record<string, unknown>;
  current_version?: string;
  /** Which credential fields are stored (never their values). */
  credentials?: { fields_set: string[] };
  [extra: string]: unknown;
}

export interface Owner {
  id: string;
  name: string;
  email: string;
}

export interface TestResult {
  path?: unknown[];
  steps?: unknown[];
  actions?: unknown[];
  [extra: string]: unknown;
}
