import type { FlowDocument } from '../api/types.ts';

/** The lead-routing flow of CONTRACT.md, used by the unit tests and the W5 generator as a known-good document. */
export const leadRouting: FlowDocument = {
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

/**
 * A large valid flow for layout tests and the W5 canvas benchmark: one trigger, then a chain of tags, delays and
 * conditions (every 15th node; `true` continues the chain, `false` skips a node), and action `error` edges until
 * the edge count is reached.
 */
export function largeFlow(nodeCount: number, edgeCount: number): FlowDocument {
  const nodes: FlowDocument['nodes'] = [];
  const edges: FlowDocument['edges'] = [];
  const cols = 12;
  const isCondition = (i: number) => i > 0 && i % 15 === 0 && i + 2 < nodeCount;
  for (let i = 0; i < nodeCount; i++) {
    const type = i === 0 ? 'trigger.event' : isCondition(i) ? 'condition' : i % 7 === 0 ? 'delay' : 'action.tag';
    const config =
      type === 'trigger.event'
        ? { event: 'lead.created' }
        : type === 'condition'
          ? { rule: { all: [{ fact: 'contact', path: '$.properties.score', operator: 'greaterThan', value: i }] } }
          : type === 'delay'
            ? { mode: 'duration', duration: 'P1D' }
            : { add: [`tag_${i}`] };
    nodes.push({ id: `n${i}`, type, position: { x: (i % cols) * 260, y: Math.floor(i / cols) * 160 }, config });
  }
  const edge = (source: number, target: number, sourceHandle?: string) =>
    edges.push(sourceHandle ? { id: `e${edges.length}`, source: `n${source}`, sourceHandle, target: `n${target}` } : { id: `e${edges.length}`, source: `n${source}`, target: `n${target}` });
  for (let i = 1; i < nodeCount; i++) edge(i - 1, i, isCondition(i - 1) ? 'true' : undefined);
  for (let i = 0; i < nodeCount; i++) if (isCondition(i)) edge(i, i + 2, 'false');
  for (let i = 1; edges.length < edgeCount && i < nodeCount - 3; i++) {
    if (nodes[i].type === 'action.tag') edge(i, i + 3, 'error');
  }
  return { schema: 'cairn.flow/v1', name: `Large flow (${nodeCount} nodes)`, settings: { reentry: 'always', goal: null, exit_on: [] }, nodes, edges };
}

/** Drafts whose only faults are in the graph, one kind each (the e2e test checks the same set through the UI). */
export function invalidDrafts(): Record<string, FlowDocument> {
  const make = (edit: (d: FlowDocument) => void) => {
    const d = structuredClone(leadRouting);
    edit(d);
    return d;
  };
  return {
    'a missing false branch': make((d) => { d.edges = d.edges.filter((e) => e.sourceHandle !== 'false'); }),
    'an unknown handle': make((d) => { d.edges.push({ id: 'x1', source: 'big', sourceHandle: 'maybe', target: 'nurture' }); }),
    'an edge into the trigger': make((d) => { d.edges.push({ id: 'x2', source: 'nurture', target: 'start' }); }),
    'two edges from one handle': make((d) => { d.edges.push({ id: 'x3', source: 'big', sourceHandle: 'true', target: 'nurture' }); }),
    'an unreachable node': make((d) => { d.nodes.push({ id: 'lost', type: 'end', position: { x: 0, y: 400 }, config: {} }); }),
    'a loop without a wait': make((d) => { d.edges.push({ id: 'x4', source: 'nurture', target: 'big' }); }),
    'no trigger': make((d) => { d.nodes = d.nodes.filter((n) => n.id !== 'start'); d.edges = d.edges.filter((e) => e.source !== 'start'); }),
    'a duplicate node id and an unknown type': make((d) => { d.nodes.push({ id: 'big', type: 'end', position: { x: 0, y: 0 }, config: {} }, { id: 'odd', type: 'action.nope', position: { x: 0, y: 0 }, config: {} }); }),
  };
}
