import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { FlowDocument, FlowNode, NodeTypeSpec } from '../contracts/flow.ts';
import { CAIRN_WIDGET, coreNodeTypes } from './node-types.ts';
import { validateFlowDocument } from './validate.ts';

type Doc = Omit<FlowDocument, 'nodes'> & { nodes: (FlowNode & Record<string, unknown>)[] } & Record<string, unknown>;

/** The W1 lead-routing flow, exactly as in the contract. */
function leadRouting(): Doc {
  return {
    schema: 'cairn.flow/v1',
    name: 'Inbound lead routing',
    settings: { reentry: 'after_exit', goal: null, exit_on: [] },
    nodes: [
      { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.created' } },
      {
        id: 'big',
        type: 'condition',
        position: { x: 0, y: 120 },
        config: {
          rule: {
            all: [
              { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
              { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA'] },
            ],
          },
        },
      },
      { id: 'assign', type: 'action.assign_owner', position: { x: -150, y: 240 }, config: { pool: 'enterprise', strategy: 'round_robin' } },
      { id: 'nurture', type: 'action.tag', position: { x: 150, y: 240 }, config: { add: ['nurture'] } },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'big' },
      { id: 'e2', source: 'big', sourceHandle: 'true', target: 'assign' },
      { id: 'e3', source: 'big', sourceHandle: 'false', target: 'nurture' },
    ],
  };
}

const node = (id: string, type: string, config: Record<string, unknown>) => ({ id, type, position: { x: 0, y: 0 }, config });
const problems = (doc: unknown, opts?: Parameters<typeof validateFlowDocument>[1]) => validateFlowDocument(doc, opts).errors;
const paths = (doc: unknown) => problems(doc).map((e) => e.path);

describe('validateFlowDocument', () => {
  it('accepts the W1 lead-routing flow', () => {
    expect(validateFlowDocument(leadRouting())).toEqual({ valid: true, errors: [] });
  });

  it('reports all 7 distinct problems of one document at once, with paths and node ids', () => {
    const doc = leadRouting();
    doc.nodes[1].config = { rule: { all: [{ fact: 'contact', path: '$.properties.employees', operator: 'atLeast', value: 50 }] } }; // 1
    doc.nodes.push(node('wait', 'wait_for_event', { event: 'email.clicked', timeout: '3 days' })); // 2
    doc.nodes.push(node('mail', 'action.send_email', { subject: 'Hi {{ contact.properties.first_name | shout }}', text: 'x' })); // 3
    doc.nodes.push(node('crm', 'action.salesforce_sync', {})); // 4
    doc.nodes.push(node('clock', 'delay', { mode: 'time_of_day', time: '9am' })); // 5
    doc.edges.push({ id: 'e4', source: 'assign', target: 'wait' });
    doc.edges.push({ id: 'e5', source: 'wait', sourceHandle: 'event', target: 'mail' });
    doc.edges.push({ id: 'e6', source: 'wait', sourceHandle: 'timeout', target: 'clock' });
    doc.edges.push({ id: 'e7', source: 'clock', target: 'crm' });
    doc.edges.push({ id: 'e8', source: 'mail', target: 'ghost' }); // 6
    doc.edges.push({ id: 'e9', source: 'nurture', sourceHandle: 'true', target: 'mail' }); // 7
    const errors = problems(doc);
    expect(errors.map((e) => [e.path, e.node_id])).toEqual([
      ['/nodes/1/config/rule/all/0/operator', 'big'],
      ['/nodes/4/config/timeout', 'wait'],
      ['/nodes/5/config/subject', 'mail'],
      ['/nodes/6/type', 'crm'],
      ['/nodes/7/config/time', 'clock'],
      ['/edges/7/target', 'mail'],
      ['/edges/8/sourceHandle', 'nurture'],
    ]);
    expect(errors[1].message).toBe('nodes[4].config.timeout must be an ISO 8601 duration such as "P3D" or "PT2H", not "3 days"');
    expect(errors[2].message).toMatch(/^nodes\[5\]\.config\.subject is not a valid Liquid template: undefined filter: shout/);
    expect(errors[3].message).toMatch(/"action\.salesforce_sync" is not a known node type/);
    expect(errors[5].message).toMatch(/"ghost", which does not exist/);
    expect(errors[6].message).toMatch(/"true" is not a handle of "nurture" \(action\.tag\); use none \(omit sourceHandle\), "error"/);
  });

  describe('loops', () => {
    it('refuses a loop without a delay or wait, naming its nodes', () => {
      const doc = leadRouting();
      doc.edges.push({ id: 'back', source: 'nurture', target: 'big' });
      const errors = problems(doc);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ path: '/nodes/1', node_id: 'big' });
      expect(errors[0].message).toMatch(/loop with no delay or wait_for_event \("big" → "nurture" → "big"\)/);
    });

    it('refuses a node that points at itself', () => {
      const doc = leadRouting();
      doc.edges.push({ id: 'self', source: 'nurture', target: 'nurture' });
      expect(problems(doc).map((e) => e.node_id)).toEqual(['nurture']);
    });

    it('accepts a loop through a delay (e.g. re-check every day)', () => {
      const doc = leadRouting();
      doc.nodes.push(node('later', 'delay', { mode: 'duration', duration: 'P1D' }));
      doc.edges.push({ id: 'e4', source: 'nurture', target: 'later' }, { id: 'e5', source: 'later', target: 'big' });
      expect(validateFlowDocument(doc)).toEqual({ valid: true, errors: [] });
    });

    it('accepts a loop through a wait_for_event', () => {
      const doc = leadRouting();
      doc.nodes.push(node('w', 'wait_for_event', { event: 'lead.updated', timeout: 'P7D' }), node('done', 'end', {}));
      doc.edges.push(
        { id: 'e4', source: 'nurture', target: 'w' },
        { id: 'e5', source: 'w', sourceHandle: 'event', target: 'big' },
        { id: 'e6', source: 'w', sourceHandle: 'timeout', target: 'done' },
      );
      expect(problems(doc)).toEqual([]);
    });
  });

  describe('edges and handles', () => {
    it('reports dangling edges at both ends', () => {
      const doc = leadRouting();
      doc.edges.push({ id: 'e4', source: 'nowhere', target: 'big' }, { id: 'e5', source: 'assign', target: 'void' });
      expect(paths(doc)).toEqual(['/edges/3/source', '/edges/4/target']);
    });

    it('requires condition true/false, wait_for_event event/timeout and every split branch', () => {
      const doc = leadRouting();
      doc.edges.pop();
      doc.nodes.push(node('w', 'wait_for_event', { event: 'x', timeout: 'P1D' }), node('s', 'split', { branches: [{ key: 'a', weight: 1 }, { key: 'b', weight: 3 }] }));
      doc.edges.push({ id: 'e4', source: 'assign', target: 'w' }, { id: 'e5', source: 'w', sourceHandle: 'event', target: 's' }, { id: 'e6', source: 's', sourceHandle: 'a', target: 'nurture' });
      const errors = problems(doc);
      expect(errors.map((e) => [e.node_id, e.message.match(/"(\w+)" handle/)?.[1]])).toEqual([
        ['big', 'false'],
        ['w', 'timeout'],
        ['s', 'b'],
      ]);
    });

    it('allows the error handle on actions only, one edge per handle, and nothing into a trigger', () => {
      const doc = leadRouting();
      doc.nodes.push(node('oops', 'action.create_task', { title: 'Routing failed for {{ contact.email }}' }), node('pause', 'delay', { duration: 'PT1H' }));
      doc.edges.push(
        { id: 'ok-error', source: 'assign', sourceHandle: 'error', target: 'oops' },
        { id: 'bad-error', source: 'pause', sourceHandle: 'error', target: 'oops' },
        { id: 'dup', source: 'big', sourceHandle: 'true', target: 'oops' },
        { id: 'into-trigger', source: 'oops', target: 'start' },
        { id: 'e-pause', source: 'nurture', target: 'pause' },
      );
      expect(paths(doc)).toEqual(['/edges/4/sourceHandle', '/edges/5', '/edges/6/target']);
    });

    it('needs a handle name on edges leaving a condition', () => {
      const doc = leadRouting();
      delete doc.edges[1].sourceHandle;
      // ... and so "assign" is unreachable and the condition's "true" handle unconnected.
      expect(problems(doc).map((e) => e.path)).toEqual(['/edges/1/sourceHandle', '/nodes/1', '/nodes/2']);
    });

    it('reports nodes the trigger cannot reach, and duplicate ids', () => {
      const doc = leadRouting();
      doc.nodes.push(node('island', 'end', {}), node('big', 'end', {}));
      doc.edges.push({ id: 'e1', source: 'assign', target: 'island' });
      expect(problems(doc).map((e) => [e.path, e.node_id])).toEqual([
        ['/nodes/5/id', 'big'],
        ['/edges/3/id', undefined],
        ['/nodes/4', 'island'],
      ]);
    });

    it('needs exactly one trigger', () => {
      const none = leadRouting();
      none.nodes.shift();
      none.edges.shift();
      expect(problems(none).map((e) => e.path)).toEqual(['/nodes']);
      const two = leadRouting();
      two.nodes.push(node('again', 'trigger.segment', { segment: 'vip', on: 'enter' }));
      expect(problems(two).map((e) => [e.path, e.node_id])).toEqual([['/nodes/4/type', 'again']]);
    });
  });

  describe('node types and configs', () => {
    it('reports unknown types, and resolves plugin actions through resolveNodeType', () => {
      const plugin: NodeTypeSpec = {
        type: 'plugin:slack/post_message',
        title: 'Post to Slack',
        description: 'Posts a message',
        category: 'action',
        handles: { in: true, out: ['default', 'error'] },
        config_schema: { type: 'object', required: ['channel'], properties: { channel: { type: 'string' }, text: { type: 'string' } }, additionalProperties: false },
        external: true,
      };
      const doc = leadRouting();
      doc.nodes.push(node('slack', plugin.type, { channel: '#sales', text: 'New lead {{ contact.email }' }));
      doc.edges.push({ id: 'e4', source: 'assign', target: 'slack' });
      expect(paths(doc)).toEqual(['/nodes/4/type']);
      // What follows an unknown node is not reported as unreachable on top.
      doc.nodes.push(node('after', 'end', {}));
      doc.edges.push({ id: 'e5', source: 'slack', target: 'after' });
      expect(paths(doc)).toEqual(['/nodes/4/type']);
      const withPlugin = problems(doc, { resolveNodeType: (t) => (t === plugin.type ? plugin : undefined) });
      expect(withPlugin.map((e) => e.path)).toEqual(['/nodes/4/config/text']);
      expect(withPlugin[0].message).toMatch(/not a valid Liquid template/);
    });

    it('checks every config shape: durations, offsets, cron, timezones, times, enums and per-type rules', () => {
      const doc = leadRouting();
      doc.nodes[0] = node('start', 'trigger.schedule', { cron: '0 9 * *', timezone: 'Europe/Atlantis' }) as Doc['nodes'][number];
      const extra = [
        node('d1', 'delay', { duration: 'P3D' }), // mode defaults to duration: fine
        node('d2', 'delay', { mode: 'date_property', property: 'renewal_date', offset: '-P30D', time: '09:00' }), // fine
        node('d3', 'delay', { mode: 'weekly' }),
        node('d4', 'delay', { mode: 'duration', duration: '-P1D' }),
        node('t', 'action.tag', {}),
        node('sc', 'action.score', { delta: 5, set: 10 }),
        node('wh', 'action.webhook', { url: 'ftp://example.com', timeout_ms: 120_000, retry: { max_attempts: 50, backoff: 'soon' } }),
        node('sp', 'split', { branches: [{ key: 'a', weight: 1 }, { key: 'a', weight: 0 }], holdout: 60 }),
      ];
      doc.nodes.push(...(extra as Doc['nodes']));
      doc.edges.push(
        { id: 'x1', source: 'assign', target: 'd1' },
        { id: 'x2', source: 'd1', target: 'd2' },
        { id: 'x3', source: 'd2', target: 'd3' },
        { id: 'x4', source: 'd3', target: 'd4' },
        { id: 'x5', source: 'd4', target: 't' },
        { id: 'x6', source: 't', target: 'sc' },
        { id: 'x7', source: 'sc', target: 'wh' },
        { id: 'x8', source: 'wh', target: 'sp' },
        { id: 'x9', source: 'sp', sourceHandle: 'a', target: 'nurture' },
      );
      const errors = problems(doc);
      const byPath = Object.fromEntries(errors.map((e) => [e.path, e.message]));
      expect(Object.keys(byPath).sort()).toEqual(
        [
          '/nodes/0/config/cron',
          '/nodes/0/config/timezone',
          '/nodes/6/config/mode',
          '/nodes/7/config/duration',
          '/nodes/8/config',
          '/nodes/9/config',
          '/nodes/10/config/url',
          '/nodes/10/config/timeout_ms',
          '/nodes/10/config/retry/max_attempts',
          '/nodes/10/config/retry/backoff',
          '/nodes/11/config/branches/1/weight',
          '/nodes/11/config/branches/1/key',
          '/nodes/11/config/holdout',
        ].sort(),
      );
      expect(byPath['/nodes/0/config/cron']).toMatch(/five-field cron expression/);
      expect(byPath['/nodes/0/config/timezone']).toMatch(/IANA timezone such as "Europe\/Paris"/);
      expect(byPath['/nodes/6/config/mode']).toMatch(/"duration", "time_of_day", "date_property", not "weekly"/);
      expect(byPath['/nodes/10/config/timeout_ms']).toBe('nodes[10].config.timeout_ms must be <= 60000, not 120000');
      expect(byPath['/nodes/11/config/branches/1/key']).toMatch(/unique/);
    });

    it('refuses a condition node with an empty rule (it would send every contact the same way)', () => {
      for (const rule of [{ all: [] }, { any: [] }, { not: { all: [] } }, { all: [{ any: [] }] }]) {
        const doc = leadRouting();
        doc.nodes[1].config = { rule };
        expect(problems(doc)).toEqual([{ path: '/nodes/1/config/rule', message: 'nodes[1].config.rule has no conditions; add at least one (an empty rule would send every contact the same way)', node_id: 'big' }]);
      }
      const one = leadRouting();
      one.nodes[1].config = { rule: { not: { any: [{ fact: 'contact', path: '$.email', operator: 'exists', value: true }] } } };
      expect(problems(one)).toEqual([]);
    });

    it('checks conditions in trigger.when, wait_for_event.rule and the settings (goal, exit_on)', () => {
      const doc = leadRouting();
      doc.nodes[0].config = { event: 'lead.created', when: { all: [{ fact: 'account', path: 'country', operator: 'equal', value: 'US' }] } };
      doc.settings = {
        reentry: 'sometimes' as never,
        goal: { event: 'demo.booked', rule: { any: [{ fact: 'event', path: '$.properties.kind', operator: 'in', value: 'demo' }] } },
        exit_on: [{ event: 'contact.unsubscribed', rule: { all: [{ fact: 'contact', operator: 'matches', value: '([' }] } }, { rule: { all: [] } } as never],
      };
      expect(paths(doc)).toEqual([
        '/settings/reentry',
        '/settings/exit_on/1/event',
        '/nodes/0/config/when/all/0/fact',
        '/nodes/0/config/when/all/0/path',
        '/settings/goal/rule/any/0/value',
        '/settings/exit_on/0/rule/all/0/value',
      ]);
    });

    it('refuses Liquid that does not parse or includes files, in any string of the config', () => {
      const doc = leadRouting();
      doc.nodes.push(
        node('hook', 'action.webhook', {
          url: 'https://example.com/{{ contact.id }}',
          headers: { 'X-Plan': '{% if contact.properties.plan %}{{ contact.properties.plan }}' },
          body: { nested: ['ok {{ event.type }}', "{% include 'secrets' %}"] },
        }),
      );
      doc.edges.push({ id: 'e4', source: 'assign', target: 'hook' });
      const errors = problems(doc);
      expect(errors.map((e) => e.path)).toEqual(['/nodes/4/config/headers/X-Plan', '/nodes/4/config/body/nested/1']);
      expect(errors[1].message).toMatch(/cannot include files/);
    });
  });

  describe('guards', () => {
    it('refuses a 5 MB document quickly, with one clear error', () => {
      const doc = leadRouting();
      doc.nodes[3].config = { add: ['x'.repeat(5 * 1024 * 1024)] };
      const started = performance.now();
      const result = validateFlowDocument(doc);
      const ms = performance.now() - started;
      expect(result.valid).toBe(false);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0].message).toMatch(/more than 1048576 characters of text/);
      expect(ms).toBeLessThan(100);
    });

    it('refuses 5 MB of small values quickly (many nodes, or one huge array)', () => {
      const many = leadRouting();
      many.nodes = Array.from({ length: 60_000 }, (_, i) => node(`n${i}`, 'end', {})) as Doc['nodes'];
      const wide = leadRouting();
      wide.nodes[3].config = { add: Array.from({ length: 1_000_000 }, (_, i) => i) as never };
      for (const doc of [many, wide]) {
        const started = performance.now();
        const result = validateFlowDocument(doc);
        expect(performance.now() - started).toBeLessThan(100);
        expect(result.errors).toHaveLength(1);
      }
      expect(validateFlowDocument(many).errors[0]).toMatchObject({ path: '/nodes', message: expect.stringMatching(/at most 2000/) });
    });

    it('never throws on garbage', () => {
      for (const garbage of [null, 42, 'flow', [], {}, { nodes: 'x', edges: {} }, { schema: 'cairn.flow/v1', nodes: [null, 1, { id: 5 }], edges: [null] }]) {
        const result = validateFlowDocument(garbage);
        expect(result.valid).toBe(false);
        expect(result.errors.length).toBeGreaterThan(0);
      }
    });
  });
});

describe('the core catalog', () => {
  it('compiles under strict ajv, and each type schema accepts its defaults-only config', () => {
    // strictRequired is off: the delay's discriminator `mode` is required at the top and defined per branch.
    const strict = new Ajv({ strict: true, strictRequired: false, discriminator: true, allErrors: true });
    addFormats.default(strict);
    strict.addVocabulary([CAIRN_WIDGET]);
    const minimal: Record<string, Record<string, unknown>> = {
      'trigger.event': { event: 'lead.created' },
      'trigger.segment': { segment: 'vip', on: 'enter' },
      'trigger.schedule': { cron: '0 9 * * 1' },
      'trigger.date': { property: 'renewal_date' },
      condition: { rule: { all: [] } },
      split: { branches: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }] },
      delay: { mode: 'duration', duration: 'P1D' },
      wait_for_event: { event: 'x', timeout: 'P1D' },
      'action.set_property': { properties: { stage: 'lead' } },
      'action.tag': { add: ['x'] },
      'action.score': { delta: 1 },
      'action.assign_owner': { pool: 'p', strategy: 'round_robin' },
      'action.create_task': { title: 't' },
      'action.send_email': { subject: 's', text: 't' },
      'action.webhook': { url: 'https://example.com' },
      'action.emit_event': { event: 'x' },
      end: {},
    };
    expect(coreNodeTypes.map((s) => s.type).sort()).toEqual(Object.keys(minimal).sort());
    for (const spec of coreNodeTypes) {
      const validate = strict.compile(spec.config_schema);
      expect(validate(minimal[spec.type]), `${spec.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(typeof spec.title).toBe('string');
      expect(spec.external).toBe(spec.type === 'action.webhook' || spec.type === 'action.send_email');
    }
  });
});
