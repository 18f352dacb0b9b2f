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
import { freeSpot, type Box } from './place.ts';
import { readableViewport, READABLE_ZOOM } from './viewport.ts';
import { coreNodeTypes } from '@cairn/engine/contracts';

/** The engine's core catalog, as `GET /v1/catalog` serves it without plugins. */
const core = new Map<string, CatalogNode>(coreNodeTypes.map((t) => [t.type, t as unknown as CatalogNode]));

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

  it('passes the lead-routing flow and flags a condition without its false edge on that node, in the engine’s words', () => {
    expect(checkGraph(leadRouting, core)).toEqual([]);
    const broken = structuredClone(leadRouting);
    broken.edges = broken.edges.filter((e) => e.sourceHandle !== 'false');
    expect(checkGraph(broken, core)).toEqual([
      { path: '/nodes/1', message: 'nodes[1] needs an edge from its "false" handle (where contacts go when the rule is false)', node_id: 'big' },
      { path: '/nodes/3', message: 'nodes[3] ("nurture") cannot be reached from the trigger "start"; connect it or delete it', node_id: 'nurture' },
    ]);
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
    expect(checkGraph(doc, core)).toEqual([]);
  });
});

describe('placing a node from the palette, and the readable fit', () => {
  const size = { width: 220, height: 80 };
  const hit = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  it('goes below the selected node, or beside that spot when it is taken, never on a box', () => {
    const anchor = { x: 0, y: 0, width: 220, height: 80 };
    const below = freeSpot(size, [anchor], anchor, { x: 0, y: 0 });
    expect(below).toEqual({ x: 0, y: 160 });
    const taken = [anchor, { x: -20, y: 150, width: 220, height: 80 }];
    const beside = freeSpot(size, taken, anchor, { x: 0, y: 0 });
    expect(taken.some((b) => hit({ ...beside, ...size }, b))).toBe(false);
    expect(beside.y).toBe(160);
  });

  it('finds a free spot in a crowded area around the view centre', () => {
    const boxes = Array.from({ length: 30 }, (_, i) => ({ x: (i % 6) * 240 - 600, y: Math.floor(i / 6) * 120 - 300, width: 220, height: 80 }));
    const spot = freeSpot(size, boxes, null, { x: 0, y: 0 });
    expect(boxes.some((b) => hit({ ...spot, ...size }, b))).toBe(false);
  });

  it('keeps a small flow at a readable zoom, top-anchored, and lets a big one zoom out', () => {
    const tall = { x: -200, y: 0, width: 620, height: 1700 };
    const v = readableViewport(tall, { width: 700, height: 650 }, 12, 110);
    expect(v.zoom).toBe(READABLE_ZOOM);
    expect(v.y).toBe(32);
    expect(readableViewport(tall, { width: 700, height: 650 }, 300, 110).zoom).toBeLessThan(0.4);
    expect(readableViewport({ x: 0, y: 0, width: 300, height: 200 }, { width: 700, height: 650 }, 3, 150).zoom).toBe(1.1);
  });
});
