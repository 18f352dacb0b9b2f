#!/usr/bin/env node
// Folder boundaries of engine/src, run by `pnpm lint` after eslint (STYLE.md: boundaries are enforced, not remembered).
//  1. No import cycle between folders: the folder graph (a top-level file counts as its own folder) is acyclic,
//     so each folder can be read, tested and replaced on its own.
//  2. Folder rules below (e.g. http/ reaches the kernel through its commands, not runner/ or db/ internals).
// Type-only imports count: a type is a dependency of the reader too. Tests (*.test.ts) are exempt.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../engine/src');

/**
 * An import from a file matching `from` (a path relative to engine/src) to a path matching `forbid` is refused with
 * `message`; `typeOnly` (optional) lets a type-only import (`import type { … }`) of a matching target through when
 * it names only `names`.
 */
const RULES = [
  {
    from: /^http\//,
    forbid: /^(runner\/(?!index\.ts$|commands\.ts$|dry-run\.ts$|postgres\/index\.ts$)|db\/(?!index\.ts$|ids\.ts$|migrate\.ts$|admin\.ts$))/,
    message: 'http/ reaches the kernel through runner/index.ts, runner/commands.ts and runner/dry-run.ts, the runner\'s PostgreSQL adapters through runner/postgres/index.ts, and the database through db/index.ts (withTx, Db), db/ids.ts, db/migrate.ts (health) and db/admin.ts (databaseTargets); move the logic into the kernel or an adapter',
  },
  {
    // The kernel: the files directly in runner/ (executor, batch loop, commands, dry run, flow engine, ports).
    from: /^runner\/[^/]+\.ts$/,
    forbid: /^(runner\/postgres\/|db\/(?!ids\.ts$))/,
    typeOnly: { target: /^db\/index\.ts$/, names: ['Tx'] },
    message: 'the runner\'s kernel (runner/*.ts) depends on the ports in runner/ports.ts, never on runner/postgres/ or db/ (only the Tx type passes through, and db/ids.ts for new ids): declare what it needs as a port there, implement it in runner/postgres/ and wire it in runtime.ts',
  },
];

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) files.push(full);
  }
})(root);

const folderOf = (rel) => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel);
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"](\.{1,2}\/[^'"]+)['"]/g;
const TYPE_ONLY = /^\s*;?\s*(?:import|export)\s+type\s*\{([^}]*)\}/;
const typeOnlyNames = (statement) => {
  const m = TYPE_ONLY.exec(statement);
  return m ? m[1].split(',').map((n) => n.trim().split(/\s+as\s+/)[0]).filter(Boolean) : null;
};

const edges = new Map(); // folder → Map(folder → example "file → file")
const problems = [];
for (const file of files) {
  const rel = path.relative(root, file).split(path.sep).join('/');
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = path.relative(root, path.resolve(path.dirname(file), spec)).split(path.sep).join('/');
    if (target.startsWith('..')) continue;
    const [a, b] = [folderOf(rel), folderOf(target)];
    for (const rule of RULES) {
      if (!rule.from.test(rel) || !rule.forbid.test(target)) continue;
      const names = rule.typeOnly?.target.test(target) ? typeOnlyNames(m[0]) : null;
      if (names && names.every((n) => rule.typeOnly.names.includes(n))) continue;
      problems.push(`${rel} imports ${target}: ${rule.message}`);
    }
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Map());
    if (!edges.get(a).has(b)) edges.get(a).set(b, `${rel} → ${target}`);
  }
}

// Tarjan's strongly connected components: every component of more than one folder is a cycle.
let index = 0;
const idx = new Map(), low = new Map(), stack = [], on = new Set(), cycles = [];
function visit(v) {
  idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const scc = [];
    let w;
    do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
    if (scc.length > 1) cycles.push(scc.sort());
  }
}
for (const v of edges.keys()) if (!idx.has(v)) visit(v);

for (const scc of cycles) {
  const inside = scc.flatMap((a) => [...(edges.get(a) ?? [])].filter(([b]) => scc.includes(b)).map(([, why]) => `    ${why}`));
  problems.push(`import cycle between folders ${scc.join(', ')} of engine/src:\n${inside.join('\n')}`);
}

if (problems.length) {
  process.stderr.write(`engine/src boundaries (scripts/check-boundaries.mjs):\n${problems.map((p) => `  ✖ ${p}`).join('\n')}\n`);
  process.exit(1);
}
const folders = new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]);
process.stdout.write(`engine/src boundaries: ${folders.size} folders, no import cycle, folder rules hold\n`);
