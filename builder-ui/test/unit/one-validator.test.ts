import { describe, expect, it } from 'vitest';
import { coreNodeTypes } from '@cairn/engine/contracts';
import type { CatalogNode } from '../../src/api/types.ts';
import { checkGraph } from '../../src/graph/checks.ts';
import { invalidDrafts } from '../../src/graph/fixtures.ts';
import { validateFlowDocument } from '../../../engine/src/flow/validate.ts';

/** The engine's core catalog, as `GET /v1/catalog` serves it without plugins. */
const core = new Map<string, CatalogNode>(coreNodeTypes.map((t) => [t.type, t as unknown as CatalogNode]));

// One validator (issue 15, deliver 3): what the canvas shows on each edit, before the engine has answered, is
// what the engine reports, word for word; for drafts whose faults are all in the graph the two lists are equal.
describe('the builder’s instant checks and the engine’s validation', () => {
  it.each(Object.entries(invalidDrafts()))('agree on %s', (_name, doc) => {
    const local = checkGraph(doc, core);
    const engine = validateFlowDocument(doc).errors;
    expect(local.length).toBeGreaterThan(0);
    expect(local).toEqual(engine);
  });

  it('never show a problem the engine does not report, when the draft also has config problems', () => {
    const doc = invalidDrafts()['a missing false branch'];
    doc.nodes[2]!.config = { strategy: 'nope' };
    doc.nodes[1]!.config = { rule: { all: [] } };
    const local = checkGraph(doc, core);
    const engine = validateFlowDocument(doc).errors;
    expect(engine.length).toBeGreaterThan(local.length);
    expect(engine).toEqual(expect.arrayContaining(local));
    expect(engine.map((e) => e.message)).toContain('nodes[1].config.rule has no conditions; add at least one (an empty rule would send every contact the same way)');
  });
});
