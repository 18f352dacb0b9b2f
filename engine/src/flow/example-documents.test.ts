import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FlowDocument } from '../contracts/flow.ts';
import { compileCondition, type ConditionFacts } from '../rules/compile.ts';
import { coreNodeType } from './node-types.ts';
import { compileTemplates } from './templates.ts';
import { validateFlowDocument } from './validate.ts';

const root = join(import.meta.dirname, '../../../examples');
const names = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const load = <T>(name: string, file: string): T => JSON.parse(readFileSync(join(root, name, file), 'utf8')) as T;

interface SampleEvent {
  type: string;
  contact: { email?: string; properties?: Record<string, unknown> };
  properties?: Record<string, unknown>;
}

describe('examples/', () => {
  it('holds the lifecycle flows', () => {
    expect(names).toEqual(['advocacy', 'lead-routing', 'nurture', 'referral', 'retention', 'routing-sla']);
  });

  for (const name of names) {
    describe(name, () => {
      const doc = load<FlowDocument>(name, 'flow.json');
      const samples = load<{ events: SampleEvent[] }>(name, 'sample-events.json').events;

      it('is a valid cairn.flow/v1 document', () => {
        expect(validateFlowDocument(doc)).toEqual({ valid: true, errors: [] });
        expect(readFileSync(join(root, name, 'README.md'), 'utf8')).toMatch(/^# /);
      });

      it('is laid out top-down, 150-200 px per step, without overlapping nodes', () => {
        const at = new Map(doc.nodes.map((n) => [n.id, n.position]));
        for (const e of doc.edges) {
          const dy = at.get(e.target)!.y - at.get(e.source)!.y;
          expect(dy, `${e.id}: ${e.source} → ${e.target}`).toBeGreaterThanOrEqual(150);
          expect(dy, `${e.id}`).toBeLessThanOrEqual(400); // a join may span two rows
        }
        for (const a of doc.nodes) {
          for (const b of doc.nodes) {
            if (a === b) continue;
            const apart = Math.abs(a.position.x - b.position.x) >= 150 || Math.abs(a.position.y - b.position.y) >= 150;
            expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
          }
        }
      });

      it('renders every template and evaluates every condition on its sample data', async () => {
        expect(samples.length).toBeGreaterThan(0);
        const trigger = doc.nodes.find((n) => coreNodeType(n.type)?.category === 'trigger')!;
        if (trigger.type === 'trigger.event') expect(samples.map((s) => s.type)).toContain(trigger.config.event);
        for (const sample of samples) {
          const facts: ConditionFacts = {
            contact: { email: sample.contact.email, tags: [], properties: sample.contact.properties ?? {} },
            event: { type: sample.type, properties: sample.properties ?? {} },
            run: {},
          };
          for (const n of doc.nodes) {
            if (n.type.startsWith('action.')) await expect(compileTemplates(n.config)(facts), `${n.id}`).resolves.toBeDefined();
            for (const rule of [n.config.rule, n.config.when]) {
              if (rule) expect(typeof compileCondition(rule)(facts, { now: new Date('2026-03-16T09:00:00Z') })).toBe('boolean');
            }
          }
        }
      });
    });
  }

  it('lead-routing is exactly the W1 flow and routes its samples as its README says', () => {
    const doc = load<FlowDocument>('lead-routing', 'flow.json');
    expect(doc.nodes.map((n) => [n.id, n.type, n.config])).toEqual([
      ['start', 'trigger.event', { event: 'lead.created' }],
      [
        'big',
        'condition',
        {
          rule: {
            all: [
              { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
              { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA'] },
            ],
          },
        },
      ],
      ['assign', 'action.assign_owner', { pool: 'enterprise', strategy: 'round_robin' }],
      ['nurture', 'action.tag', { add: ['nurture'] }],
    ]);
    const enterprise = compileCondition(doc.nodes[1].config.rule);
    const samples = load<{ events: SampleEvent[] }>('lead-routing', 'sample-events.json').events;
    const routed = samples.map((s) => enterprise({ contact: { properties: s.contact.properties }, event: null, run: {} }));
    expect(routed).toEqual([true, false, true, false]);
  });

  it('the advocacy thank-you quotes the comment HTML-escaped', async () => {
    const doc = load<FlowDocument>('advocacy', 'flow.json');
    const email = doc.nodes.find((n) => n.id === 'review_request')!;
    const out = (await compileTemplates(email.config)({ contact: { properties: {} }, event: { properties: { score: 10, comment: '<b>great</b>' } }, run: {} })) as { html: string; subject: string };
    expect(out.subject).toBe('Thanks for the 10/10, friend!');
    expect(out.html).toContain('&lt;b&gt;great&lt;/b&gt;');
  });
});
