import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.ts';

/**
 * Renders docs/performance.md from bench/results/latest.jsonl, so the documented figures are always the measured
 * ones: `node --import tsx bench/report.ts` after `pnpm bench`.
 */
type Line = Record<string, any>;
const lines: Line[] = readFileSync(path.join(ROOT, 'bench/results/latest.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const m = (v: any) => (v && typeof v === 'object' && 'median' in v ? `${v.median} (${v.min}–${v.max})` : v === undefined ? '—' : String(v));
const machine = lines.find((l) => l.machine)?.machine;
const out: string[] = [
  '# Performance',
  '',
  'Figures from `pnpm bench` (workloads defined in `shared/BENCHMARKS.md`), written by `bench/report.ts` from',
  '`bench/results/latest.jsonl`. Medians of the repetitions with the spread (min–max) where a workload repeats.',
  '',
  `Machine: ${machine ? `${machine.cpus} cores (${machine.cpu_model}), ${machine.memory_gb} GiB, Node ${machine.node}` : 'unknown'}; PostgreSQL 15 on the same machine. Date: ${lines[0]?.date ?? 'unknown'}.`,
  '',
];
for (const l of lines) {
  out.push(`## ${l.workload}`, '');
  if (l.error) {
    out.push(`Failed: ${l.error}`, '');
    continue;
  }
  if (l.setup) out.push(`Setup: ${l.setup}.`, '');
  if (l.scale_note) out.push(`Scale: ${l.scale_note}.`, '');
  out.push('| figure | value |', '|---|---|');
  for (const [k, v] of Object.entries(l)) {
    if (['workload', 'date', 'machine', 'setup', 'counted', 'check', 'scale_note', 'repeat'].includes(k)) continue;
    if (v && typeof v === 'object' && !('median' in v)) {
      for (const [k2, v2] of Object.entries(v)) out.push(`| ${k}.${k2} | ${m(v2)} |`);
    } else out.push(`| ${k} | ${m(v)} |`);
  }
  out.push('', `Check: ${l.check?.passed === false ? '**FAILED**' : 'passed'} — ${JSON.stringify(l.check ?? {})}`, '');
  if (l.counted) out.push(`What is counted: ${l.counted}`, '');
}
writeFileSync(path.join(ROOT, 'docs/performance.md'), `${out.join('\n')}\n`);
console.log('wrote docs/performance.md');
