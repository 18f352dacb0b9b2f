import { describe, expect, it } from 'vitest';
import type { FlowDocument } from '../contracts/flow.ts';
import { compileFlow } from './compile.ts';

const ids = { workspaceId: 'w', flowId: 'f', version: 1 };
const doc = (nodes: FlowDocument['nodes'], settings: Partial<FlowDocument['settings']> = {}): FlowDocument => ({
  schema: 'cairn.flow/v1', name: 'x', settings: { reentry: 'after_exit', goal: null, exit_on: [], ...settings }, nodes,
  edges: nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: nodes[i]!.id, target: n.id })),
});
const n = (id: string, type: string, config: Record<string, unknown>) => ({ id, type, position: { x: 0, y: 0 }, config });

describe('compileFlow', () => {
  it('knows when a flow never reads its trigger event nor listens for later events (the executor then skips loading them)', () => {
    const w1 = compileFlow(doc([
      n('start', 'trigger.event', { event: 'lead.created' }),
      n('big', 'condition', { rule: { all: [{ fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 }] } }),
      n('tag', 'action.tag', { add: ['nurture'] }),
    ]), ids);
    expect(w1.readsTriggerEvent).toBe(false);
    expect(w1.listensToEvents).toBe(false);
  });

  it('flags flows that read the event (rule, template, external action) or listen (goal, exit, wait)', () => {
    const rule = compileFlow(doc([n('start', 'trigger.event', { event: 'a' }), n('c', 'condition', { rule: { all: [{ fact: 'event', path: '$.properties.x', operator: 'equal', value: 1 }] } })]), ids);
    const template = compileFlow(doc([n('start', 'trigger.event', { event: 'a' }), n('p', 'action.set_property', { properties: { plan: '{{ event.properties.plan }}' } })]), ids);
    const external = compileFlow(doc([n('start', 'trigger.event', { event: 'a' }), n('h', 'action.webhook', { url: 'https://example.com' })]), ids);
    for (const f of [rule, template, external]) expect(f.readsTriggerEvent).toBe(true);
    expect(compileFlow(doc([n('start', 'trigger.event', { event: 'a' })], { goal: { event: 'b' } }), ids).listensToEvents).toBe(true);
    expect(compileFlow(doc([n('start', 'trigger.event', { event: 'a' })], { exit_on: [{ event: 'b' }] }), ids).listensToEvents).toBe(true);
    expect(compileFlow(doc([n('start', 'trigger.event', { event: 'a' }), n('w', 'wait_for_event', { event: 'b', timeout: 'P1D' })]), ids).listensToEvents).toBe(true);
  });

  it('gives a delay without a mode the duration mode', () => {
    const f = compileFlow(doc([n('start', 'trigger.event', { event: 'a' }), n('d', 'delay', { duration: 'P1D' })]), ids);
    expect(f.nodes.get('d')!.config).toMatchObject({ mode: 'duration' });
  });
});
