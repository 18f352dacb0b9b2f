import { beforeEach, describe, expect, it } from 'vitest';
import { leadRouting } from '../graph/fixtures.ts';
import { useEditor } from './store.ts';

const s = () => useEditor.getState();
const ids = () => s().nodes.map((n) => n.id);
const edgeKeys = () => s().edges.map((e) => `${e.source}:${e.sourceHandle ?? ''}>${e.target}`);
const select = (...nodeIds: string[]) =>
  useEditor.setState({ nodes: s().nodes.map((n) => ({ ...n, selected: nodeIds.includes(n.id) })) });

describe('editor store', () => {
  beforeEach(() => s().load(structuredClone(leadRouting), false));

  it('loads a document and gives it back unchanged', () => {
    expect(JSON.stringify(s().document())).toBe(JSON.stringify(leadRouting));
    expect(s().revision).toBe(0);
  });

  it('adds, connects (one edge per out-handle), and undoes/redoes each step', () => {
    const id = s().addNode('end', { x: 0, y: 400 }, { outcome: 'completed' });
    expect(id).toBe('end');
    s().connect({ source: 'assign', sourceHandle: null, target: 'end', targetHandle: null });
    expect(edgeKeys()).toContain('assign:>end');
    // Connecting `big`'s true handle again replaces its edge rather than adding a second one.
    s().connect({ source: 'big', sourceHandle: 'true', target: 'end', targetHandle: null });
    expect(edgeKeys().filter((k) => k.startsWith('big:true'))).toEqual(['big:true>end']);
    expect(s().revision).toBe(3);
    s().undo();
    expect(edgeKeys()).toContain('big:true>assign');
    s().undo();
    s().undo();
    expect(ids()).toEqual(['start', 'big', 'assign', 'nurture']);
    expect(JSON.stringify(s().document())).toBe(JSON.stringify(leadRouting));
    s().redo();
    expect(ids()).toContain('end');
  });

  it('deletes a selection with its edges in one undo step', () => {
    select('big');
    s().deleteSelected();
    expect(ids()).toEqual(['start', 'assign', 'nurture']);
    expect(s().edges).toEqual([]);
    s().undo();
    expect(edgeKeys()).toEqual(['start:>big', 'big:true>assign', 'big:false>nurture']);
  });

  it('copies and pastes a multi-selection with fresh ids and the edges between the copied nodes', () => {
    select('big', 'assign');
    s().copy();
    s().paste();
    expect(ids()).toEqual(['start', 'big', 'assign', 'nurture', 'big_2', 'assign_2']);
    const pasted = s().document().nodes.slice(4);
    expect(pasted.map((n) => n.position)).toEqual([{ x: 40, y: 160 }, { x: -110, y: 280 }]);
    expect(pasted[0].config).toEqual(leadRouting.nodes[1].config);
    expect(pasted[0].config).not.toBe(leadRouting.nodes[1].config);
    expect(edgeKeys()).toContain('big_2:true>assign_2');
    expect(s().nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(['big_2', 'assign_2']);
    s().paste();
    expect(ids().slice(-2)).toEqual(['big_3', 'assign_3']);
  });

  it('coalesces typing into one undo step and keeps the label out when cleared', () => {
    s().updateNode('assign', { config: { pool: 'e', strategy: 'round_robin' } });
    s().updateNode('assign', { config: { pool: 'en', strategy: 'round_robin' } });
    s().updateNode('assign', { config: { pool: 'ent', strategy: 'round_robin' } });
    expect(s().past).toHaveLength(1);
    s().updateNode('assign', { label: 'Route' });
    expect(s().document().nodes[2]).toMatchObject({ label: 'Route', config: { pool: 'ent' } });
    s().updateNode('assign', { label: undefined });
    expect(s().document().nodes[2]).not.toHaveProperty('label');
    s().undo();
    s().undo();
    s().undo();
    expect(s().document().nodes[2].config).toEqual({ pool: 'enterprise', strategy: 'round_robin' });
  });

  it('refuses every edit when read-only', () => {
    s().load(structuredClone(leadRouting), true);
    s().addNode('end', { x: 0, y: 0 }, {});
    select('big');
    s().deleteSelected();
    s().onNodesChange([{ type: 'position', id: 'big', position: { x: 999, y: 999 }, dragging: true }]);
    expect(ids()).toEqual(['start', 'big', 'assign', 'nurture']);
    expect(s().nodes[1].position).toEqual({ x: 0, y: 120 });
    expect(s().revision).toBe(0);
  });

  it('applies auto-layout positions as one undoable edit', () => {
    s().applyPositions(new Map([['start', { x: 500, y: 0 }], ['big', { x: 500, y: 150 }]]));
    expect(s().document().nodes.slice(0, 2).map((n) => n.position)).toEqual([{ x: 500, y: 0 }, { x: 500, y: 150 }]);
    s().undo();
    expect(s().document().nodes[0].position).toEqual({ x: 0, y: 0 });
  });
});
