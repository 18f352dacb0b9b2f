import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.ts';

/**
 * Renders docs/performance.md from bench/results/latest.jsonl, so the documented figures are always the measured
 * ones: `node --import tsx bench/report.ts` after `pnpm bench`.
 */
type Line = Record<string, any>;
const lines: Line[] = readFileSync(path.join(ROOT, 'bench/results/latest.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  .sort((a, b) => String(a.workload).localeCompare(String(b.workload)));
const byName = (w: string) => lines.find((l) => l.workload === w);
const med = (v: any) => (v && typeof v === 'object' && 'median' in v ? v.median : v);
const m = (v: any) => (v && typeof v === 'object' && 'median' in v ? `${v.median} (${v.min}–${v.max})` : v === undefined ? '—' : String(v));
const machine = lines.find((l) => l.machine)?.machine;
const out: string[] = [
  '# Performance',
  '',
  'Figures from `pnpm bench` (workloads defined in `shared/BENCHMARKS.md`), written by `bench/report.ts` from',
  '`bench/results/latest.jsonl`. Medians of the repetitions with the spread (min–max) where a workload repeats.',
  '',
  `Machine: ${machine ? `${machine.cpus} cores (${machine.cpu_model}), ${machine.memory_gb} GiB, Node ${machine.node}` : 'unknown'}; PostgreSQL 15 on the same machine. Date: ${lines.find((l) => l.date)?.date ?? 'unknown'}.`,
  '',
];
// The targets of the issues, against the medians measured.
const w1b = byName('w1_http_batch');
const w1single = byName('w1_http_single');
const w2 = byName('w2_nurture_at_rest');
const w3 = byName('w3_sandbox');
const w5 = byName('w5_canvas');
const target = (name: string, value: unknown, goal: string, met: boolean | undefined) => `| ${name} | ${value ?? '—'} | ${goal} | ${met === undefined ? '—' : met ? 'met' : '**not met**'} |`;
out.push('## Against the targets', '', '| figure | measured (median) | target | |', '|---|---|---|---|');
if (w1b) {
  out.push(target('W1 completed runs/s, end to end (ingestion and execution sharing 2 cores)', med(w1b.completed_runs_per_s), '≥ 5,000 (never below 3,000)', med(w1b.completed_runs_per_s) >= 5000));
  out.push(target('W1 executor drain runs/s (backlog after the load stops)', med(w1b.executor_drain_runs_per_s), '—', undefined));
  // Peak = the process's VmHWM, the most it was resident at any moment of the phase (startup and warm-up included).
  const peaks = [w1b, w1single].map((l) => l?.engine_peak_rss_mb?.max as number | undefined).filter((p) => p !== undefined);
  if (peaks.length > 0) {
    out.push(target('W1 engine peak RSS (MB), highest run, batch / single', peaks.join(' / '), '< 200 throughout', peaks.every((p) => p < 200)));
  }
}
if (w2) out.push(target('W2 PostgreSQL bytes per waiting run', w2.pg_bytes_per_waiting_run, '< 1,024', w2.pg_bytes_per_waiting_run < 1024));
if (w3) {
  out.push(target('W3 warm sandbox call overhead p50 (ms), median (slowest) of 3 runs', `${med(w3.format_only_latency_ms?.overhead_p50)} (${w3.format_only_latency_ms?.overhead_p50?.max})`, '< 0.1 in every run', w3.targets?.warm_overhead_p50_met));
  out.push(target('W3 cold start, isolate + bundle (ms)', med(w3.cold_start_ms?.isolate_and_bundle_ready), '< 10', w3.targets?.cold_start_met));
}
if (w5) {
  out.push(target('W5 first render, 300 nodes (ms)', med(w5.first_render_ms), '< 1,000', w5.met?.first_render));
  out.push(target('W5 drag fps', med(w5.drag_fps), '≥ 50', w5.met?.drag_fps));
  out.push(target('W5 main bundle gzip (KB)', w5.bundle?.main_gzip_kb, '< 400', w5.met?.main_bundle));
}
out.push('');
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
