import type { JsonSchema, NodeTypeSpec } from './flow.ts';

/**
 * The core node catalog: what `GET /v1/catalog` serves and what the canvas builds its palette and forms
 * from. Config schemas are JSON Schema draft-07 written for @rjsf/core (titles, descriptions, defaults).
 *
 * `x-cairn-widget` marks values that need more than JSON Schema can say. The engine's validator checks them
 * (so that messages name the fix), and the UI may pick a richer widget for them:
 * `condition` (json-rules-engine condition), `duration` (ISO 8601, e.g. `P3D`), `signed-duration` (may start
 * with `-`), `cron`, `timezone` (IANA), `time` (`HH:mm`), `liquid` (long text with Liquid), `segment` (a segment key: the
 * builder picks it from the workspace's segments).
 */
export const CAIRN_WIDGET = 'x-cairn-widget';

const str = (title: string, description: string, extra: JsonSchema = {}): JsonSchema => ({
  type: 'string',
  title,
  description,
  minLength: 1,
  maxLength: 200,
  ...extra,
});

const eventType = (title = 'Event type', description = 'The event type, e.g. `lead.created`.'): JsonSchema =>
  str(title, description, { examples: ['lead.created'] });

const condition = (title: string, description: string): JsonSchema => ({
  type: 'object',
  title,
  description:
    `${description} A json-rules-engine condition (\`all\`/\`any\`/\`not\`, \`fact\`, \`path\`, \`operator\`, \`value\`) ` +
    'over the facts `contact`, `event` and `run`.',
  [CAIRN_WIDGET]: 'condition',
});

const duration = (title: string, description: string, dflt?: string): JsonSchema => ({
  type: 'string',
  title,
  description: `${description} ISO 8601 duration, e.g. \`P3D\` (3 days) or \`PT2H\` (2 hours).`,
  maxLength: 64,
  examples: ['P3D', 'PT2H'],
  [CAIRN_WIDGET]: 'duration',
  ...(dflt === undefined ? {} : { default: dflt }),
});

const signedDuration = (title: string, description: string, dflt?: string): JsonSchema => ({
  ...duration(title, `${description} A leading \`-\` means before (e.g. \`-P30D\`).`, dflt),
  examples: ['-P30D', 'P0D', 'P1D'],
  [CAIRN_WIDGET]: 'signed-duration',
});

const timeOfDay = (title: string, description: string): JsonSchema => ({
  type: 'string',
  title,
  description: `${description} 24-hour \`HH:mm\` in the contact's timezone, e.g. \`09:00\`.`,
  maxLength: 5,
  examples: ['09:00'],
  [CAIRN_WIDGET]: 'time',
});

const stringList = (title: string, description: string): JsonSchema => ({
  type: 'array',
  title,
  description,
  items: { type: 'string', minLength: 1, maxLength: 100 },
  maxItems: 100,
  uniqueItems: true,
});

const object = (title: string, properties: Record<string, JsonSchema>, required: string[] = [], extra: JsonSchema = {}): JsonSchema => ({
  type: 'object',
  title,
  properties,
  required,
  additionalProperties: false,
  ...extra,
});

/** Every action may carry `retry`; the `error` out-handle is taken once its attempts are spent. */
const retry: JsonSchema = object(
  'Retry',
  {
    max_attempts: { type: 'integer', title: 'Attempts', description: 'How many times to try in all.', minimum: 1, maximum: 20, default: 3 },
    backoff: duration('First backoff', 'How long to wait before the second attempt.', 'PT10S'),
    factor: { type: 'number', title: 'Backoff factor', description: 'Each later wait is the previous one times this.', minimum: 1, maximum: 10, default: 2 },
  },
  ['max_attempts', 'backoff'],
  { description: 'How a failing step is retried. Omit to use the defaults (3 attempts, 10 s, doubling).' },
);

const action = (
  type: string,
  title: string,
  description: string,
  properties: Record<string, JsonSchema>,
  required: string[],
  external = false,
): NodeTypeSpec => ({
  type,
  title,
  description,
  category: 'action',
  handles: { in: true, out: ['default', 'error'] },
  config_schema: object(title, { ...properties, retry }, required, { description }),
  external,
});

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export const coreNodeTypes: readonly NodeTypeSpec[] = [
  {
    type: 'trigger.event',
    title: 'When an event arrives',
    description: 'Starts a run when an event of this type arrives for a contact and the optional condition holds.',
    category: 'trigger',
    handles: { in: false, out: ['default'] },
    config_schema: object(
      'Event trigger',
      {
        event: eventType(),
        when: condition('Only when', 'Optional: start only when this holds.'),
        source: {
          type: 'string', title: 'Plugin trigger', pattern: '^plugin:[a-z][a-z0-9_]{0,62}/[a-z][a-z0-9_]{0,62}$',
          description: 'Optional: plugin:<plugin id>/<trigger key>. While the flow is published, the engine runs that trigger for it: polls a polling trigger, or subscribes a webhook trigger (unsubscribing when the flow is archived).',
        },
      },
      ['event'],
    ),
    external: false,
  },
  {
    type: 'trigger.segment',
    title: 'When a contact enters or leaves a segment',
    description: 'Starts a run when a contact enters (or exits) a segment.',
    category: 'trigger',
    handles: { in: false, out: ['default'] },
    config_schema: object(
      'Segment trigger',
      {
        segment: str('Segment', 'The segment key.', { [CAIRN_WIDGET]: 'segment' }),
        on: { type: 'string', title: 'On', description: 'Start on entering or on leaving.', enum: ['enter', 'exit'], default: 'enter' },
      },
      ['segment', 'on'],
    ),
    external: false,
  },
  {
    type: 'trigger.schedule',
    title: 'On a schedule',
    description: 'On a cron schedule, starts a run for each contact (of a segment, if given).',
    category: 'trigger',
    handles: { in: false, out: ['default'] },
    config_schema: object(
      'Schedule trigger',
      {
        cron: str('Cron', 'Five-field cron expression, e.g. `0 9 * * 1` (Mondays at 09:00).', { maxLength: 100, examples: ['0 9 * * 1'], [CAIRN_WIDGET]: 'cron' }),
        timezone: str('Timezone', 'IANA timezone the cron expression is read in, e.g. `Europe/Paris`.', { default: 'UTC', maxLength: 64, [CAIRN_WIDGET]: 'timezone' }),
        segment: str('Segment', 'Optional: only the contacts of this segment (key).', { [CAIRN_WIDGET]: 'segment' }),
      },
      ['cron'],
    ),
    external: false,
  },
  {
    type: 'trigger.date',
    title: 'Relative to a date',
    description: "Starts a run relative to a date property of the contact, e.g. 30 days before `renewal_date`, at 09:00 contact time.",
    category: 'trigger',
    handles: { in: false, out: ['default'] },
    config_schema: object(
      'Date trigger',
      {
        property: str('Date property', 'The contact property holding the date, e.g. `renewal_date`.'),
        offset: signedDuration('Offset', 'When, relative to the date.', 'P0D'),
        at: timeOfDay('At', 'Optional: the time of day.'),
      },
      ['property'],
    ),
    external: false,
  },
  {
    type: 'condition',
    title: 'Condition',
    description: 'Branches `true` / `false` on a condition.',
    category: 'logic',
    handles: { in: true, out: ['true', 'false'] },
    config_schema: object('Condition', { rule: condition('Rule', 'The condition to test.') }, ['rule']),
    external: false,
  },
  {
    type: 'split',
    title: 'Random split',
    description: 'Sends each contact down one weighted branch, chosen at random but stable per contact; an optional holdout ends the run for a share of contacts.',
    category: 'logic',
    handles: { in: true, out: 'branches' },
    config_schema: object(
      'Random split',
      {
        branches: {
          type: 'array',
          title: 'Branches',
          description: 'At least two branches with unique keys; each key is an out-handle.',
          minItems: 2,
          maxItems: 20,
          items: object(
            'Branch',
            {
              key: str('Key', 'The branch name (its out-handle).', { maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
              weight: { type: 'number', title: 'Weight', description: 'Relative share of contacts.', exclusiveMinimum: 0, maximum: 1_000_000, default: 1 },
            },
            ['key', 'weight'],
          ),
          default: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }],
        },
        holdout: { type: 'number', title: 'Holdout %', description: 'Percent of contacts held out (their run ends here).', minimum: 0, maximum: 50, default: 0 },
      },
      ['branches'],
    ),
    external: false,
  },
  {
    type: 'delay',
    title: 'Delay',
    description: "Waits a duration, or until a time of day (and weekday) in the contact's timezone, or until a date property.",
    category: 'timing',
    handles: { in: true, out: ['default'] },
    config_schema: {
      type: 'object',
      title: 'Delay',
      description: 'How long to wait. `mode` defaults to `duration`.',
      required: ['mode'],
      discriminator: { propertyName: 'mode' },
      oneOf: [
        object(
          'Wait a duration',
          { mode: { type: 'string', title: 'Mode', const: 'duration', default: 'duration' }, duration: duration('Duration', 'How long to wait.', 'P1D') },
          ['mode', 'duration'],
        ),
        object(
          'Until a time of day',
          {
            mode: { type: 'string', title: 'Mode', const: 'time_of_day', default: 'time_of_day' },
            time: timeOfDay('Time', 'Waits for the next such moment.'),
            weekdays: {
              type: 'array',
              title: 'Weekdays',
              description: 'Optional: only on these days.',
              items: { type: 'string', enum: weekdays },
              uniqueItems: true,
              maxItems: 7,
            },
          },
          ['mode', 'time'],
        ),
        object(
          'Until a date property',
          {
            mode: { type: 'string', title: 'Mode', const: 'date_property', default: 'date_property' },
            property: str('Date property', 'The contact property holding the date.'),
            offset: signedDuration('Offset', 'Relative to the date.', 'P0D'),
            time: timeOfDay('Time', 'Optional: the time of day on that date.'),
          },
          ['mode', 'property'],
        ),
      ],
      default: { mode: 'duration', duration: 'P1D' },
    },
    external: false,
  },
  {
    type: 'wait_for_event',
    title: 'Wait for an event',
    description: 'Waits for a matching event of the contact (out-handle `event`), or for the timeout (out-handle `timeout`).',
    category: 'timing',
    handles: { in: true, out: ['event', 'timeout'] },
    config_schema: object(
      'Wait for an event',
      {
        event: eventType(),
        rule: condition('Only when', 'Optional: the event must also satisfy this.'),
        timeout: duration('Timeout', 'How long to wait at most.', 'P3D'),
      },
      ['event', 'timeout'],
    ),
    external: false,
  },
  action('action.set_property', 'Set properties', 'Sets contact properties; string values may be Liquid templates.', {
    properties: {
      type: 'object',
      title: 'Properties',
      description: 'Property name → value. `null` deletes the property.',
      minProperties: 1,
      maxProperties: 100,
      additionalProperties: true,
    },
  }, ['properties']),
  action('action.tag', 'Tag', 'Adds and/or removes contact tags (at least one of the two).', {
    add: stringList('Add tags', 'Tags to add.'),
    remove: stringList('Remove tags', 'Tags to remove.'),
  }, []),
  action('action.score', 'Score', 'Changes the contact score: add `delta`, or `set` it (exactly one).', {
    delta: { type: 'number', title: 'Add', description: 'Added to the score (may be negative).' },
    set: { type: 'number', title: 'Set to', description: 'The new score.' },
  }, []),
  action('action.assign_owner', 'Assign owner', 'Assigns an owner from a routing pool, skipping owners who are unavailable or at capacity.', {
    pool: str('Pool', 'The routing pool key, e.g. `enterprise`.'),
    strategy: {
      type: 'string',
      title: 'Strategy',
      description: '`round_robin` (fair rotation), `weighted` (by owner weight) or `territory` (owners whose territories include the contact property).',
      enum: ['round_robin', 'weighted', 'territory'],
      default: 'round_robin',
    },
    territory_property: str('Territory property', 'For `territory`: the contact property matched against owner territories, e.g. `country`.'),
    overwrite: { type: 'boolean', title: 'Overwrite', description: 'Replace an existing owner (the previous owner\'s open lead is released).', default: false },
    exclude_current_owner: { type: 'boolean', title: 'Exclude current owner', description: 'Pick someone other than the contact\'s current owner (e.g. to reassign a lead not contacted in time).', default: false },
  }, ['pool', 'strategy']),
  action('action.create_task', 'Create task', 'Creates a task for the owner or a named user.', {
    title: str('Title', 'Task title (Liquid allowed).', { maxLength: 500 }),
    body: { type: 'string', title: 'Body', description: 'Task details (Liquid allowed).', maxLength: 20_000, [CAIRN_WIDGET]: 'liquid' },
    assignee: str('Assignee', '`owner` (the contact owner) or a user email.', { default: 'owner' }),
    due_in: duration('Due in', 'Optional: the task is due this long after creation.'),
  }, ['title']),
  action('action.send_email', 'Send email', 'Sends an email through the workspace SMTP settings (or into the development outbox when none are set), Liquid-templated, honouring suppression, quiet hours and frequency caps. Give `html`, `text` or both.', {
    subject: str('Subject', 'Liquid allowed, e.g. `Hi {{ contact.properties.first_name }}`.', { maxLength: 500 }),
    html: { type: 'string', title: 'HTML body', description: 'Liquid allowed.', maxLength: 200_000, [CAIRN_WIDGET]: 'liquid' },
    text: { type: 'string', title: 'Text body', description: 'Liquid allowed.', maxLength: 200_000, [CAIRN_WIDGET]: 'liquid' },
    from: str('From', 'Optional: overrides the workspace sender.'),
    category: str('Category', 'For frequency caps and unsubscribe preferences; default `marketing`. `transactional` ignores quiet hours, caps and unsubscribes.', { maxLength: 64 }),
  }, ['subject'], true),
  action('action.webhook', 'Webhook', 'HTTP request with a signed body and an `Idempotency-Key` header.', {
    url: str('URL', 'http(s) URL (Liquid allowed).', { maxLength: 2000, examples: ['https://example.com/hooks/cairn'] }),
    method: { type: 'string', title: 'Method', enum: ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'], default: 'POST' },
    headers: {
      type: 'object',
      title: 'Headers',
      description: 'Extra request headers (values may be Liquid).',
      additionalProperties: { type: 'string', maxLength: 2000 },
      maxProperties: 50,
    },
    body: { title: 'Body', description: 'JSON body; string values may be Liquid.' },
    timeout_ms: { type: 'integer', title: 'Timeout (ms)', minimum: 100, maximum: 60_000, default: 10_000 },
  }, ['url'], true),
  action('action.emit_event', 'Emit event', 'Records a new event for the contact (which may trigger other flows).', {
    event: eventType('Event type', 'The type of the new event, e.g. `reward.granted`.'),
    properties: { type: 'object', title: 'Properties', description: 'Event properties; string values may be Liquid.', additionalProperties: true },
  }, ['event']),
  {
    type: 'end',
    title: 'End',
    description: 'Ends the run with an outcome.',
    category: 'end',
    handles: { in: true, out: [] },
    config_schema: object('End', {
      outcome: { type: 'string', title: 'Outcome', enum: ['completed', 'converted', 'exited'], default: 'completed' },
    }),
    external: false,
  },
];
