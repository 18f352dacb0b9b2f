import { flowDocumentSchema } from '../contracts/flow-schema.ts';
import { emailPolicySchema } from '../channels/email-policy.ts';
import { manifestSchema } from '../plugins/manifest.ts';
import { Backtest, BacktestComparison } from './backtest-schemas.ts';
import { Kpis } from './kpi-schemas.ts';
import { LoyaltyProgram, ReferralProgram, rewardValue, ScoringModel } from './program-schemas.ts';

/**
 * Shared JSON Schemas of the API: registered once with `app.addSchema` (http/app.ts), referenced by routes as
 * `{ $ref: 'Contact#' }`, validated and serialised by fastify with them, and published as
 * `components.schemas` of the OpenAPI document (`/docs/json`). One place, so the document cannot say one thing
 * while the engine does another. Request bodies stay inline in their routes (their types come from them);
 * what several routes answer lives here.
 */

// ---- small pieces (inlined where used) ---------------------------------------------------------------------

export const uuid = { type: 'string', format: 'uuid' } as const;
export const dateTime = { type: 'string', format: 'date-time' } as const;
export const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
/** Any JSON value (kept as sent by the serializer). */
export const anyJson = {} as const;
/** An object whose keys the caller chose (properties, outputs): every key is kept. */
export const openObject = { type: 'object', additionalProperties: true } as const;

/**
 * An email address as the engine checks it: ajv-formats' `email` (RFC 5322 local part, a domain of dotted
 * labels). The `pattern` states the same rule, so a client generating from the document knows that
 * `0@com` (no dot in the domain, allowed by RFC 5321) is refused.
 */
export const EMAIL_PATTERN = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$";
export const email = {
  type: 'string', format: 'email', pattern: EMAIL_PATTERN, maxLength: 320,
  description: 'an email address with a dotted domain (name@example.com); addresses such as 0@com are refused',
} as const;

/** The `Idempotency-Key` request header of creating POSTs (docs/api.md §Idempotency). */
export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$',
      description: 'a repeat with the same key and body returns the first answer with 200; another body with the same key is a 409',
    },
  },
} as const;

const pageOf = (ref: string, description?: string) => ({
  type: 'object', required: ['items', 'next_cursor'],
  ...(description ? { description } : {}),
  properties: { items: { type: 'array', items: { $ref: `${ref}#` } }, next_cursor: { type: ['string', 'null'], description: 'pass as ?cursor= for the next page; null on the last' } },
}) as const;

/** `{ items, next_cursor }` of the named component. */
export const page = (ref: string) => pageOf(ref);

// ---- components ---------------------------------------------------------------------------------------------

const ProblemItem = {
  $id: 'ProblemItem', type: 'object', required: ['path', 'message'],
  properties: {
    path: { type: 'string', description: 'JSON Pointer into the request body ("" for the whole request)' },
    message: { type: 'string' },
    node_id: { type: 'string', description: 'the flow node the problem is about' },
  },
} as const;

const Problem = {
  $id: 'Problem', type: 'object', description: 'RFC 9457 problem details (application/problem+json); codes in docs/errors.md',
  required: ['type', 'title', 'status', 'detail', 'code', 'errors'],
  properties: {
    type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' },
    code: { type: 'string', pattern: '^CAIRN_ERR_[A-Z_]+$' },
    errors: { type: 'array', items: { $ref: 'ProblemItem#' } },
  },
} as const;

const FlowDocument = { ...flowDocumentSchema, $id: 'FlowDocument' };

const Contact = {
  $id: 'Contact', type: 'object',
  required: ['id', 'external_id', 'email', 'properties', 'tags', 'score', 'owner_id', 'lifecycle_stage', 'timezone', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    external_id: { type: ['string', 'null'] },
    email: { type: ['string', 'null'] },
    properties: openObject,
    tags: { type: 'array', items: { type: 'string' } },
    score: { type: 'number' },
    owner_id: { type: ['string', 'null'] },
    lifecycle_stage: { type: ['string', 'null'] },
    timezone: { type: ['string', 'null'] },
    created_at: dateTime,
    updated_at: dateTime,
  },
} as const;

const flowKey = { type: ['string', 'null'], description: 'names the flow in a directory of flow files (docs/flows-as-code.md)' } as const;

const Flow = {
  $id: 'Flow', type: 'object', required: ['id', 'key', 'name', 'status', 'draft', 'draft_etag', 'published_version', 'versions', 'created_at', 'updated_at'],
  properties: {
    id: uuid, key: flowKey, name: { type: 'string' }, status: { enum: ['draft', 'active', 'paused', 'archived'] },
    draft: { ...openObject, description: 'the editable cairn.flow/v1 document (may be incomplete until published; see FlowDocument)' },
    draft_etag: { type: 'string', description: 'also sent as ETag; send it back as If-Match' },
    published_version: { type: ['integer', 'null'] },
    versions: { type: 'array', items: { type: 'object', required: ['version', 'published_at', 'note'], properties: { version: { type: 'integer' }, published_at: dateTime, note: { type: ['string', 'null'] } } } },
    created_at: dateTime, updated_at: dateTime,
  },
} as const;

const FlowSummary = {
  $id: 'FlowSummary', type: 'object',
  required: ['id', 'key', 'name', 'status', 'published_version', 'active_runs', 'conversion_rate', 'has_goal', 'created_at', 'updated_at'],
  properties: {
    id: uuid, key: flowKey, name: { type: 'string' }, status: { enum: ['draft', 'active', 'paused', 'archived'] }, published_version: { type: ['integer', 'null'] },
    active_runs: { type: 'integer' }, conversion_rate: { type: ['number', 'null'] }, has_goal: { type: 'boolean' }, created_at: dateTime, updated_at: dateTime,
  },
} as const;

const FlowValidation = {
  $id: 'FlowValidation', type: 'object', required: ['valid', 'errors'],
  properties: { valid: { type: 'boolean' }, errors: { type: 'array', items: { $ref: 'ProblemItem#' } } },
} as const;

const counts = (names: string[]) => ({ type: 'object', required: names, properties: Object.fromEntries(names.map((n) => [n, { type: 'integer' }])) });
const FlowStats = {
  $id: 'FlowStats', type: 'object', required: ['version', 'nodes', 'runs'],
  properties: {
    version: { type: ['integer', 'null'] },
    nodes: { type: 'object', additionalProperties: counts(['entered', 'completed', 'failed', 'waiting']) },
    runs: counts(['active', 'completed', 'converted', 'exited', 'failed', 'cancelled']),
  },
} as const;

const RUN_STATUSES = ['active', 'waiting', 'completed', 'converted', 'exited', 'failed', 'cancelled'];
const runFields = {
  id: uuid, flow_id: uuid, version: { type: 'integer' }, contact_id: uuid, status: { enum: RUN_STATUSES },
  current_node_id: { type: ['string', 'null'] }, last_node_id: { type: ['string', 'null'] },
  waiting: { anyOf: [{ type: 'null' }, { type: 'object', properties: { until: nullableDateTime, event: { type: ['string', 'null'] } } }] },
  error: anyJson, started_at: dateTime, updated_at: dateTime, finished_at: nullableDateTime,
} as const;
const RUN_REQUIRED = ['id', 'flow_id', 'version', 'contact_id', 'status', 'current_node_id', 'last_node_id', 'waiting', 'started_at', 'updated_at', 'finished_at'];

const Run = { $id: 'Run', type: 'object', required: RUN_REQUIRED, properties: runFields } as const;
const RunListItem = {
  $id: 'RunListItem', type: 'object', required: [...RUN_REQUIRED, 'flow_name', 'contact_email', 'node_label'],
  properties: { ...runFields, flow_name: { type: ['string', 'null'] }, contact_email: { type: ['string', 'null'] }, node_label: { type: ['string', 'null'] } },
} as const;
const RunDetail = {
  $id: 'RunDetail', type: 'object', required: [...RUN_REQUIRED, 'flow_name', 'contact_email', 'node_labels', 'vars', 'steps'],
  properties: {
    ...runFields, flow_name: { type: ['string', 'null'] }, contact_email: { type: ['string', 'null'] },
    node_labels: { type: 'object', additionalProperties: { type: 'string' } }, vars: openObject,
    steps: {
      type: 'array',
      items: {
        type: 'object', required: ['node_id', 'status', 'attempt', 'started_at', 'finished_at'],
        properties: { node_id: { type: 'string' }, status: { type: 'string' }, attempt: { type: 'integer' }, started_at: dateTime, finished_at: dateTime, output: anyJson, error: anyJson,
          // A plugin step's log lines (ctx.log, console.*), bounded and redacted; [] for other steps.
          logs: {
            type: 'array',
            items: {
              type: 'object', required: ['level', 'message', 'source', 'at'],
              properties: { level: { type: 'string' }, message: { type: 'string' }, fields: anyJson, source: { type: 'string' }, at: dateTime },
            },
          },
        },
      },
    },
  },
} as const;

const Owner = {
  $id: 'Owner', type: 'object', required: ['id', 'name', 'email', 'weight', 'capacity', 'available', 'territories', 'assigned_count', 'created_at', 'updated_at'],
  properties: {
    id: uuid, name: { type: 'string' }, email: { type: 'string' }, weight: { type: 'integer' }, capacity: { type: ['integer', 'null'] },
    available: { type: 'boolean' }, territories: { type: 'array', items: { type: 'string' } }, assigned_count: { type: 'integer' }, created_at: dateTime, updated_at: dateTime,
  },
} as const;

const RoutingPool = {
  $id: 'RoutingPool', type: 'object', required: ['id', 'key', 'owner_ids', 'fallback_owner_id', 'created_at'],
  properties: { id: uuid, key: { type: 'string' }, owner_ids: { type: 'array', items: { type: 'string' } }, fallback_owner_id: { type: ['string', 'null'] }, created_at: dateTime },
} as const;

const Task = {
  $id: 'Task', type: 'object',
  required: ['id', 'contact_id', 'owner_id', 'assignee', 'run_id', 'node_id', 'title', 'body', 'due_at', 'status', 'created_at', 'completed_at', 'updated_at'],
  properties: {
    id: uuid, contact_id: { type: ['string', 'null'] }, owner_id: { type: ['string', 'null'] }, assignee: { type: ['string', 'null'] },
    run_id: { type: ['string', 'null'] }, node_id: { type: ['string', 'null'] }, title: { type: 'string' }, body: { type: ['string', 'null'] },
    due_at: nullableDateTime, status: { enum: ['open', 'done'] }, created_at: dateTime, completed_at: nullableDateTime, updated_at: nullableDateTime,
  },
} as const;

const Segment = {
  $id: 'Segment', type: 'object', required: ['key', 'name', 'rule', 'member_count', 'status', 'created_at', 'updated_at'],
  properties: {
    key: { type: 'string' }, name: { type: 'string' }, rule: openObject, member_count: { type: 'integer' },
    status: { enum: ['evaluating', 'ready'], description: 'evaluating while existing contacts are being evaluated against a new rule' }, created_at: dateTime, updated_at: dateTime,
    history: { type: 'array', items: { type: 'object', required: ['day', 'members'], properties: { day: { type: 'string' }, members: { type: 'integer' } } } },
  },
} as const;

const Plugin = {
  $id: 'Plugin', type: 'object', required: ['id', 'name', 'enabled', 'current_version', 'versions', 'actions', 'triggers', 'credentials'],
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' }, enabled: { type: 'boolean' }, current_version: { type: 'string' },
    versions: { type: 'array', items: { type: 'object', required: ['version', 'bundle_sha256', 'published_at'], properties: { version: { type: 'string' }, bundle_sha256: { type: 'string' }, published_at: dateTime } } },
    actions: { type: 'array', items: { type: 'object', required: ['key', 'title', 'type'], properties: { key: { type: 'string' }, title: { type: 'string' }, type: { type: 'string' } } } },
    triggers: {
      type: 'array',
      items: { type: 'object', required: ['key', 'title'], properties: { key: { type: 'string' }, title: { type: 'string' }, type: { enum: ['webhook', 'polling'] } } },
    },
    credentials: {
      type: 'object', required: ['fields_set', 'schema'],
      properties: {
        fields_set: { type: 'array', items: { type: 'string' } },
        method: { description: 'How the plugin authenticates (`defineAuth`); null for a plain credentials schema', enum: ['api_key', 'basic', 'oauth2', null] },
        test: { type: 'boolean', description: 'Whether the plugin has a test-connection function (POST /v1/plugins/{id}/credentials/test)' },
        connected: { type: 'boolean', description: 'OAuth2 plugins: whether the workspace has connected (holds tokens)' },
        schema: { description: "The plugin's declared `auth` JSON Schema (null when it takes no credentials); never a value", type: ['object', 'null'], additionalProperties: true },
      },
    },
  },
} as const;

const PluginManifest = { ...manifestSchema, $id: 'PluginManifest', description: 'manifest.json as `cairn-plugin build` writes it' } as const;

const PluginVersion = {
  $id: 'PluginVersion', type: 'object', required: ['id', 'version', 'bundle_sha256'],
  properties: { id: { type: 'string' }, version: { type: 'string' }, bundle_sha256: { type: 'string' } },
} as const;

const CatalogNode = {
  $id: 'CatalogNode', type: 'object', required: ['type', 'title', 'category', 'handles', 'config_schema'], additionalProperties: true,
  properties: {
    type: { type: 'string' }, title: { type: 'string' }, category: { type: 'string' }, description: { type: 'string' },
    handles: anyJson, config_schema: { ...openObject, description: 'JSON Schema of the node\'s config' },
  },
} as const;

const Me = {
  $id: 'Me', type: 'object', required: ['user', 'workspace', 'role', 'csrf_token'],
  properties: {
    user: { anyOf: [{ type: 'null' }, { type: 'object', required: ['id', 'email', 'name'], properties: { id: { type: 'string' }, email: { type: 'string' }, name: { type: ['string', 'null'] } } }] },
    workspace: { type: 'object', required: ['id', 'slug', 'name'], properties: { id: { type: 'string' }, slug: { type: 'string' }, name: { type: 'string' } } },
    role: { type: 'string', enum: ['admin', 'editor', 'viewer', 'ingest'] },
    csrf_token: { type: ['string', 'null'], description: 'send it as x-cairn-csrf on cookie-authenticated writes; null for API keys' },
  },
} as const;

const EventResult = {
  $id: 'EventResult', type: 'object', required: ['id', 'contact_id', 'duplicate'],
  properties: { id: uuid, contact_id: uuid, duplicate: { type: 'boolean' } },
} as const;

/** PUT /v1/settings/email body: the SMTP server (write-only: the URL is sealed and never returned). */
const SmtpSettings = {
  $id: 'SmtpSettings', type: 'object', additionalProperties: false, required: ['smtp_url', 'from'],
  properties: {
    smtp_url: { type: 'string', minLength: 8, maxLength: 2000, pattern: '^[Ss][Mm][Tt][Pp][Ss]?://', description: 'smtp:// or smtps:// URL, e.g. smtps://user:password@smtp.example.com:465' },
    from: { type: 'string', minLength: 3, maxLength: 320, description: 'the From header, e.g. "Acme <news@acme.example>"' },
  },
} as const;

const EmailSettings = {
  $id: 'EmailSettings', description: 'the SMTP server in use, or the development outbox (mail kept, not delivered) and why',
  oneOf: [
    {
      type: 'object', required: ['configured', 'delivery', 'smtp_host', 'from', 'updated_at'],
      properties: { configured: { const: true }, delivery: { const: 'smtp' }, smtp_host: { type: 'string' }, from: { type: 'string' }, updated_at: dateTime },
    },
    {
      type: 'object', required: ['configured', 'delivery', 'notice'],
      properties: { configured: { const: false }, delivery: { const: 'outbox' }, notice: { type: 'string', description: 'why mail is not delivered' } },
    },
  ],
} as const;

/** PUT /v1/settings/email-policy body: the fields given replace the stored ones. */
const EmailPolicyPatch = { ...emailPolicySchema, $id: 'EmailPolicyPatch' } as const;
/** The policy in force: every field, stored or default. */
const EmailPolicy = {
  ...emailPolicySchema, $id: 'EmailPolicy', required: ['quiet_hours', 'frequency_caps', 'tracking'],
} as const;

const OutboxMessage = {
  $id: 'OutboxMessage', type: 'object',
  required: ['id', 'run_id', 'node_id', 'contact_id', 'category', 'to', 'from', 'subject', 'html', 'text', 'headers', 'sent_at'],
  properties: {
    id: uuid, run_id: { type: 'string' }, node_id: { type: 'string' }, contact_id: { type: 'string' }, category: { type: 'string' },
    to: { type: 'string' }, from: { type: 'string' }, subject: { type: 'string' }, html: { type: ['string', 'null'] }, text: { type: ['string', 'null'] },
    headers: { type: 'object', additionalProperties: { type: 'string' } }, sent_at: dateTime,
  },
} as const;

const Reward = {
  $id: 'Reward', type: 'object', required: ['id', 'program', 'contact_id', 'role', 'status', 'created_at', 'updated_at'],
  properties: {
    id: uuid, program: { type: 'string' }, contact_id: uuid, role: { enum: ['referrer', 'referee'] }, status: { enum: ['pending', 'granted', 'voided', 'refused'] },
    reason: { type: 'string' }, reward: rewardValue, referee_id: { type: ['string', 'null'] }, referrer_id: { type: ['string', 'null'] }, event_id: { type: ['string', 'null'] },
    review_ends_at: nullableDateTime, created_at: dateTime, updated_at: dateTime,
  },
} as const;

/**
 * fast-json-stringify drops the keys of an object schema that lists none and says nothing of additional ones; JSON
 * Schema allows them. Saying `additionalProperties: true` there keeps free-form objects (node configs, rules)
 * whole when they are serialised, and changes nothing for validation.
 */
function keepFreeForm<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(keepFreeForm) as T;
  if (typeof schema !== 'object' || schema === null) return schema;
  const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'enum' || k === 'const' || k === 'default' ? v : keepFreeForm(v)]));
  const type = (out as { type?: unknown }).type;
  const isObject = type === 'object' || (Array.isArray(type) && type.includes('object'));
  if (isObject && !('properties' in out) && !('additionalProperties' in out) && !('patternProperties' in out)) out.additionalProperties = true;
  return out as T;
}

/** Every component, in the order they appear in the document. */
const components = [
  ProblemItem, Problem, FlowDocument, Flow, FlowSummary, FlowValidation, FlowStats, Contact, EventResult, Run, RunListItem, RunDetail,
  Owner, RoutingPool, Task, Segment, Plugin, PluginManifest, PluginVersion, CatalogNode, Me, SmtpSettings, EmailSettings, EmailPolicyPatch,
  EmailPolicy, OutboxMessage, Reward, ReferralProgram, LoyaltyProgram, ScoringModel, Kpis, Backtest, BacktestComparison,
] as const;
export const sharedSchemas = components.map(keepFreeForm);

/** Shared schemas that request bodies refer to: the type provider resolves their `$ref`s to types. */
export type RequestSchemas = [typeof SmtpSettings, typeof EmailPolicyPatch, typeof PluginManifest];

export type SchemaId = (typeof components)[number]['$id'];
export const ref = <I extends SchemaId>(id: I) => ({ $ref: `${id}#` as `${I}#` });

/** A contact reference (upsert, event contact): at least one of external_id and email. */
export const identityRule = {
  anyOf: [{ required: ['external_id'] }, { required: ['email'] }],
  'x-cairn-message': 'a contact needs an external_id or an email',
} as const;

/** Free-form properties: names 1–200 characters; sizes, depth and values are limited as docs/api.md §Limits says. */
export const propertiesObject = {
  type: 'object', propertyNames: { minLength: 1, maxLength: 200 },
  description: 'free-form JSON; property names 1–200 characters at any depth, strings up to 65,536 characters, 10 levels, 256 KiB (docs/api.md §Limits)',
} as const;
