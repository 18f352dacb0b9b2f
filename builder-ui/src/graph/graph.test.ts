import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CatalogNode, FlowDocument } from '../api/types.ts';
import { edgeFromDoc, fromDocument, nextId, nodeFromDoc, toDocument } from './document.ts';
import { diffDocuments, isEmptyDiff } from './diff.ts';
import { handlesFor } from './handles.ts';
import { checkGraph, errorConfigPath, errorNodeId } from './checks.ts';
import { layoutGraph } from './layout.ts';
import { largeFlow, leadRouting } from './fixtures.ts';

const examplesDir = resolve(import.meta.dirname, '../../../examples');
const exampleFlows: Array<[string, string]> = existsSync(examplesDir)
  ? readdirSync(examplesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(examplesDir, d.name, 'flow.json')))
      .map((d) => [d.name, readFileSync(join(examplesDir, d.name, 'flow.json'), 'utf8')])
  : [];

describe('document ⇄ canvas', () => {
  it('round-trips the contract example byte for byte', () => {
    const text = JSON.stringify(leadRouting, null, 2);
    expect(JSON.stringify(toDocument(fromDocument(JSON.parse(text))), null, 2)).toBe(text);
  });

  it('keeps unknown keys, labels and key order of nodes, edges and the document', () => {
    const doc = {
      name: 'x',
      schema: 'cairn.flow/v1',
      description: 'kept',
      nodes: [{ type: 'end', id: 'a', label: 'Finish', config: { outcome: 'done' }, position: { y: 5, x: 1.5 }, extra: [1] }],
      edges: [{ id: 'e', target: 'a', source: 'a', sourceHandle: 'error', label: 'oops' }],
      settings: { reentry: 'never' },
    } as unknown as FlowDocument;
    expect(JSON.stringify(toDocument(fromDocument(doc)))).toBe(JSON.stringify(doc));
  });

  it('writes moved positions and new nodes/edges', () => {
    const g = fromDocument(leadRouting);
    g.nodes[0] = { ...g.nodes[0], position: { x: 10, y: 20 } };
    g.nodes.push(nodeFromDoc({ id: 'end', type: 'end', position: { x: 0, y: 400 }, config: {} }));
    g.edges.push(edgeFromDoc({ id: 'e4', source: 'assign', target: 'end' }));
    const out = toDocument(g);
    expect(out.nodes[0].position).toEqual({ x: 10, y: 20 });
    expect(out.nodes.at(-1)).toEqual({ id: 'end', type: 'end', position: { x: 0, y: 400 }, config: {} });
    expect(out.edges.at(-1)).toEqual({ id: 'e4', source: 'assign', target: 'end' });
  });

  it('makes unique ids', () => {
    expect(nextId('action.tag', ['action_tag'])).toBe('action_tag_2');
    expect(nextId('plugin:slack/post_message', [])).toBe('slack_post_message');
  });

  it.each(exampleFlows.length ? exampleFlows : [['(no examples committed yet)', '']])('round-trips examples/%s/flow.json', (_name, text) => {
    if (!text) return;
    const parsed = JSON.parse(text) as FlowDocument;
    expect(toDocument(fromDocument(parsed))).toStrictEqual(parsed);
    expect(JSON.stringify(toDocument(fromDocument(parsed)))).toBe(JSON.stringify(parsed));
  });
});

describe('diff', () => {
  it('reports added, removed and changed nodes, ignoring moves', () => {
    const next = structuredClone(leadRouting);
    next.nodes = next.nodes.filter((n) => n.id !== 'nurture');
    next.edges = next.edges.filter((e) => e.target !== 'nurture');
    next.nodes.push({ id: 'end', type: 'end', position: { x: 0, y: 0 }, config: {} });
    next.nodes[1].config = { rule: { any: [] } };
    next.nodes[0].position = { x: 99, y: 99 };
    const d = diffDocuments(leadRouting, next);
    expect(d.nodesAdded.map((n) => n.id)).toEqual(['end']);
    expect(d.nodesRemoved.map((n) => n.id)).toEqual(['nurture']);
    expect(d.nodesChanged).toEqual([{ id: 'big', type: 'condition', fields: ['config'] }]);
    expect(d.moved).toEqual(['start']);
    expect(d.edgesRemoved.map((e) => e.id)).toEqual(['e3']);
    expect(isEmptyDiff(d)).toBe(false);
  });

  it('is empty for an identical document, and treats a first publish as all added', () => {
    expect(isEmptyDiff(diffDocuments(leadRouting, structuredClone(leadRouting)))).toBe(true);
    expect(diffDocuments(null, leadRouting).nodesAdded).toHaveLength(4);
  });
});

const catalog = new Map<string, CatalogNode>(
  [
    { type: 'trigger.event', category: 'trigger', handles: { inputs: false, outputs: [null] } },
    { type: 'condition', category: 'logic', handles: { outputs: ['true', 'false'] } },
    { type: 'split', category: 'logic', handles: { in: true, out: 'branches' } },
    { type: 'plugin:x/y', category: 'plugin', handles: { outputs: { from_config: '/routes', key: 'name' } } },
    { type: 'action.assign_owner', category: 'action', handles: { outputs: [null] } },
    { type: 'action.tag', category: 'action', handles: ['default'] },
    { type: 'end', category: 'flow', handles: { outputs: [] } },
  ].map((c) => [c.type, { ...c, title: c.type, config_schema: {} } as CatalogNode]),
);

describe('handles and checks', () => {
  it('derives outputs from the catalog, split branches from config, and error on actions', () => {
    expect(handlesFor(catalog.get('condition'), 'condition', {}).outputs.map((o) => o.id)).toEqual(['true', 'false']);
    expect(handlesFor(catalog.get('split'), 'split', { branches: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }] }).outputs.map((o) => o.id)).toEqual(['a', 'b']);
    expect(handlesFor(catalog.get('plugin:x/y'), 'plugin:x/y', { routes: [{ name: 'r1' }] }).outputs.map((o) => o.id)).toEqual(['r1', 'error']);
    expect(handlesFor(catalog.get('action.tag'), 'action.tag', {}).outputs.map((o) => o.id)).toEqual([null, 'error']);
    expect(handlesFor(catalog.get('trigger.event'), 'trigger.event', {}).input).toBe(false);
    expect(handlesFor(catalog.get('end'), 'end', {}).outputs).toEqual([]);
  });

  it('passes the lead-routing flow and flags a condition without its false edge on that node', () => {
    expect(checkGraph(leadRouting, catalog)).toEqual([]);
    const broken = structuredClone(leadRouting);
    broken.edges = broken.edges.filter((e) => e.sourceHandle !== 'false');
    const errors = checkGraph(broken, catalog);
    expect(errors).toEqual([{ path: '/nodes/1', message: 'the "false" branch of big is not connected', node_id: 'big' }]);
  });

  it('flags unknown handles, edges into triggers and duplicate outs', () => {
    const bad = structuredClone(leadRouting);
    bad.edges.push({ id: 'x1', source: 'big', sourceHandle: 'maybe', target: 'nurture' });
    bad.edges.push({ id: 'x2', source: 'nurture', target: 'start' });
    bad.edges.push({ id: 'x3', source: 'big', sourceHandle: 'true', target: 'nurture' });
    const messages = checkGraph(bad, catalog).map((e) => e.message);
    expect(messages).toContain('big has no "maybe" output');
    expect(messages).toContain('start cannot have incoming edges');
    expect(messages).toContain('big already has an edge from "true"');
  });

  it('maps engine error pointers to nodes and config fields', () => {
    expect(errorNodeId({ path: '/nodes/2/config/pool', message: 'x' }, leadRouting)).toBe('assign');
    expect(errorNodeId({ path: '/edges/2', message: 'x' }, leadRouting)).toBe('big');
    expect(errorConfigPath({ path: '/nodes/2/config/pool', message: 'x' })).toBe('/pool');
    expect(errorConfigPath({ path: '/settings', message: 'x' })).toBeNull();
  });
});

describe('layout', () => {
  it('lays the lead-routing flow out top-down with true left of false', async () => {
    const pos = await layoutGraph(
      leadRouting.nodes.map((n) => ({ id: n.id, width: 220, height: 70, outputs: n.type === 'condition' ? ['true', 'false'] : [null] })),
      leadRouting.edges,
    );
    expect(pos.size).toBe(4);
    expect(pos.get('start')!.y).toBeLessThan(pos.get('big')!.y);
    expect(pos.get('big')!.y).toBeLessThan(pos.get('assign')!.y);
    expect(pos.get('assign')!.x).toBeLessThan(pos.get('nurture')!.x);
  });

  it('lays out 300 nodes without overlaps', async () => {
    const doc = largeFlow(300, 320);
    const pos = await layoutGraph(doc.nodes.map((n) => ({ id: n.id, width: 220, height: 70, outputs: [null, 'error'] })), doc.edges);
    const boxes = [...pos.values()];
    const overlapping = boxes.filter((a, i) => boxes.some((b, j) => j > i && Math.abs(a.x - b.x) < 220 && Math.abs(a.y - b.y) < 70));
    expect(pos.size).toBe(300);
    expect(overlapping).toEqual([]);
  });
});

describe('the W5 flow', () => {
  it('has 300 nodes, 320 edges and passes the client checks', () => {
    const doc = largeFlow(300, 320);
    expect([doc.nodes.length, doc.edges.length]).toEqual([300, 320]);
    const full = new Map<string, CatalogNode>([...catalog, ['delay', { type: 'delay', title: 'Delay', category: 'timing', handles: { in: true, out: ['default'] }, config_schema: {} }]]);
    expect(checkGraph(doc, full)).toEqual([]);
  });
});
