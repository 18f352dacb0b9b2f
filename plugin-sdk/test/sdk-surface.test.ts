import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The author-facing SDK keeps two promises, checked here rather than remembered: every export has TSDoc
 * with an @example, and the runtime plugins import (src/index.ts and what it imports) uses neither Node
 * nor anything of the engine, so a bundle runs in a bare V8 isolate.
 */
const src = fileURLToPath(new URL('../src/', import.meta.url));
const parse = (file: string) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);

function runtimeFiles(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    parse(file).forEachChild((node) => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const spec = node.moduleSpecifier.text;
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
        else seen.add(`external:${spec}`);
      }
    });
  };
  visit(path.join(src, 'index.ts'));
  return [...seen];
}

describe('@cairn/plugin-sdk surface', () => {
  it('the runtime imports nothing but its own files (no Node built-ins, no engine, no packages)', () => {
    const files = runtimeFiles();
    expect(files.filter((f) => f.startsWith('external:'))).toEqual([]);
    expect(files.map((f) => path.relative(src, f)).sort()).toEqual(['auth.ts', 'context.ts', 'define.ts', 'encoding.ts', 'errors.ts', 'index.ts', 'schema.ts', 'triggers.ts']);
  });

  it('every export of src/index.ts has TSDoc with an @example', () => {
    const exported = new Map<string, string>();
    parse(path.join(src, 'index.ts')).forEachChild((node) => {
      if (ts.isExportDeclaration(node) && node.exportClause && ts.isNamedExports(node.exportClause)) {
        for (const e of node.exportClause.elements) exported.set(e.name.text, path.resolve(src, (node.moduleSpecifier as ts.StringLiteral).text));
      }
    });
    expect(exported.size).toBeGreaterThan(25);
    const missing: string[] = [];
    for (const [name, file] of exported) {
      const sf = parse(file);
      let documented = false;
      sf.forEachChild((node) => {
        const declName = (node as { name?: ts.Identifier }).name?.text;
        if (declName !== name) return;
        const docs = ts.getJSDocCommentsAndTags(node).map((d) => d.getText(sf)).join('\n');
        documented = /@example/.test(docs);
      });
      if (!documented) missing.push(`${name} (${path.basename(file)})`);
    }
    expect(missing).toEqual([]);
  });
});
