import type { JsonSchema } from './flow.ts';

/** Limits that keep validating and compiling any accepted document cheap. */
export const FLOW_LIMITS = {
  maxNodes: 2_000,
  maxEdges: 4_000,
  /** Total characters of all strings and keys: a document is at most about 1 MiB of text. */
  maxTextChars: 1_048_576,
  maxDepth: 64,
  maxIdLength: 64,
  maxNameLength: 200,
  maxExitRules: 20,
} as const;

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

const condition: JsonSchema = { type: 'object', title: 'Condition', 'x-cairn-widget': 'condition' };
const eventType: JsonSchema = { type: 'string', minLength: 1, maxLength: 200, title: 'Event type' };

/**
 * The `cairn.flow/v1` envelope (draft-07). Node `config` is checked separately against the node type's
 * `config_schema` from the catalog; graph rules (one trigger, handles, reachability, loops) are code.
 */
export const flowDocumentSchema: JsonSchema = {
  $id: 'https://cairn.dev/schemas/cairn.flow/v1.json',
  type: 'object',
  title: 'Cairn flow document',
  required: ['schema', 'name', 'settings', 'nodes', 'edges'],
  additionalProperties: false,
  properties: {
    schema: { const: 'cairn.flow/v1', title: 'Format', description: 'Always "cairn.flow/v1".' },
    name: { type: 'string', minLength: 1, maxLength: FLOW_LIMITS.maxNameLength, title: 'Name' },
    description: { type: 'string', maxLength: 2_000, title: 'Description' },
    settings: {
      type: 'object',
      title: 'Settings',
      additionalProperties: false,
      properties: {
        reentry: {
          type: 'string',
          enum: ['never', 'after_exit', 'always'],
          default: 'after_exit',
          title: 'Re-entry',
          description: '`never`: a contact enters once ever; `after_exit`: again once its previous run ended; `always`.',
        },
        goal: {
          title: 'Goal',
          description: 'When met, the run ends as `converted`. Give an event type, a rule, or both.',
          anyOf: [
            { type: 'null' },
            {
              type: 'object',
              description: 'give "event", "rule" or both; or set the goal to null',
              additionalProperties: false,
              minProperties: 1,
              properties: { event: eventType, rule: condition },
            },
          ],
        },
        exit_on: {
          type: 'array',
          title: 'Exit on',
          description: 'Events (optionally with a rule) that end the run as `exited`, e.g. `contact.unsubscribed`.',
          maxItems: FLOW_LIMITS.maxExitRules,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['event'],
            properties: { event: eventType, rule: condition },
          },
        },
        quiet_hours: {
          title: 'Quiet hours',
          description: 'Overrides the workspace quiet hours for this flow\'s emails, on the contact\'s clock: `{ "start": "21:00", "end": "08:00" }`, or null for none. Absent: the workspace setting.',
          anyOf: [
            { type: 'null' },
            {
              type: 'object',
              additionalProperties: false,
              required: ['start', 'end'],
              properties: {
                start: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', title: 'From', description: '24-hour "HH:MM"' },
                end: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', title: 'Until', description: '24-hour "HH:MM"' },
              },
            },
          ],
        },
      },
    },
    nodes: {
      type: 'array',
      maxItems: FLOW_LIMITS.maxNodes,
      items: {
        type: 'object',
        required: ['id', 'type', 'position', 'config'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', minLength: 1, maxLength: FLOW_LIMITS.maxIdLength, pattern: ID_PATTERN },
          type: { type: 'string', minLength: 1, maxLength: 200 },
          label: { type: 'string', maxLength: 200 },
          plugin_version: {
            type: 'string', maxLength: 100, pattern: '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]+)?$',
            description: 'plugin nodes only: the plugin version it runs (semver; a pre-release runs only when named here)',
          },
          position: {
            type: 'object',
            required: ['x', 'y'],
            additionalProperties: false,
            properties: { x: { type: 'number' }, y: { type: 'number' } },
          },
          config: { type: 'object' },
        },
      },
    },
    edges: {
      type: 'array',
      maxItems: FLOW_LIMITS.maxEdges,
      items: {
        type: 'object',
        required: ['id', 'source', 'target'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', minLength: 1, maxLength: FLOW_LIMITS.maxIdLength, pattern: ID_PATTERN },
          source: { type: 'string', minLength: 1, maxLength: FLOW_LIMITS.maxIdLength },
          sourceHandle: { type: ['string', 'null'], maxLength: 64 },
          target: { type: 'string', minLength: 1, maxLength: FLOW_LIMITS.maxIdLength },
        },
      },
    },
  },
};
