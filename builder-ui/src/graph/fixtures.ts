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

/** A large synthetic flow (chains of conditions and actions) for layout tests and the W5 canvas benchmark. */
export function largeFlow(nodeCount: number, edgeCount: number): FlowDocument {
  const nodes: FlowDocument['nodes'] = [];
  const edges: FlowDocument['edges'] = [];
  const cols = 12;
  for (let i = 0; i < nodeCount; i++) {
    const type = i === 0 ? 'trigger.event' : i % 5 === 0 ? 'condition' : i % 3 === 0 ? 'delay' : 'action.tag';
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
  for (let i = 1; i < nodeCount && edges.length < edgeCount; i++) {
    edges.push({ id: `e${edges.length}`, source: `n${Math.floor((i - 1) / 1)}`, target: `n${i}` });
  }
  for (let i = 0; edges.length < edgeCount; i++) {
    const s = (i * 7) % (nodeCount - 2);
    edges.push({ id: `e${edges.length}`, source: `n${s}`, sourceHandle: 'error', target: `n${s + 2}` });
  }
  return { schema: 'cairn.flow/v1', name: `Large flow (${nodeCount} nodes)`, settings: { reentry: 'always', goal: null, exit_on: [] }, nodes, edges };
}
