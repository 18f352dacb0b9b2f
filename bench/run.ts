import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './lib.ts';

/**
 * `pnpm bench`: the workloads of BENCHMARKS.md, one JSON line each in bench/results/latest.jsonl.
 *   --only w1,w2     run a subset          --scale N     W2/W6/W7 contacts (W2 default 1000000, the full workload;
 *                                                          W6/W7 default 100000, the full workloads are 1000000)
 *   (W8 always replays 1,000,000 events; 100,000 with --quick)
 *   --quick          1 repetition, 10 s phases (for a smoke run; say so when quoting figures)
 *   --footprint      W1 footprint over 5 repetitions on one database (workload `w1f`, also selected by --only w1f)
 *   --vacuum         w1f: VACUUM after each repetition (what autovacuum does on a server where it is on)
 *   --scale-out      W1 with one HTTP-only process and 1, then 2, worker processes (workload `w1s`, or --only w1s)
 *   --soak M         W1 at a steady rate for M minutes on one database, footprint sampled (`w1soak`, or --only w1soak);
 *                    --rate leads/s (150), --clients (5), --batch events per request (1: single events), --sample s
 *   --retention      W1 history (steps, events, runs) pruned on the test clock while events arrive: ingest latency before/during, database size over a further cycle (`w1r`)
 */
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    scale: { type: 'string' },
    quick: { type: 'boolean', default: false },
    footprint: { type: 'boolean', default: false },
    'scale-out': { type: 'boolean', default: false },
    retention: { type: 'boolean', default: false },
    vacuum: { type: 'boolean', default: false },
    soak: { type: 'string' },
    rate: { type: 'string' },
    clients: { type: 'string' },
    batch: { type: 'string' },
    sample: { type: 'string' },
  },
});
const only = new Set((values.only ?? `w1,w2,w3,w4,w5,w6,w7,w8${values.footprint ? ',w1f' : ''}${values['scale-out'] ? ',w1s' : ''}${values.retention ? ',w1r' : ''}${values.soak ? ',w1soak' : ''}`).split(',').map((s) => s.trim().toLowerCase()));
const out = path.join(ROOT, 'bench/results/latest.jsonl');
mkdirSync(path.dirname(out), { recursive: true });
const idOf = (workload: string) => ({ w1_footprint: 'w1f', w1_scale_out: 'w1s', w1_retention: 'w1r', w1_soak: 'w1soak', w6s: 'w6s' } as Record<string, string>)[workload] ?? workload.slice(0, 2);
// Keep the lines of workloads not run this time (`--only`), replace the others.
const kept = existsSync(out)
  ? readFileSync(out, 'utf8').split('\n').filter(Boolean).filter((l) => !only.has(idOf(String(JSON.parse(l).workload))))
  : [];
writeFileSync(out, kept.map((l) => `${l}\n`).join(''));

type Runner = () => Promise<Record<string, unknown> | Record<string, unknown>[]>;
const workloads: [string, string, Runner][] = [
  ['w1', 'w1-lead-routing.ts', async () => (await import('./w1-lead-routing.ts')).runW1(values.quick ? { repeat: 1, durationS: 10 } : {})],
  ['w1f', 'w1-lead-routing.ts', async () => (await import('./w1-lead-routing.ts')).runW1Footprint({ ...(values.quick ? { repeat: 3, leads: 10_000 } : {}), vacuum: values.vacuum })],
  ['w1s', 'w1-lead-routing.ts', async () => (await import('./w1-lead-routing.ts')).runW1ScaleOut(values.quick ? { leads: 10_000 } : {})],
  ['w1r', 'w1-lead-routing.ts', async () => (await import('./w1-lead-routing.ts')).runW1Retention(values.quick ? { leads: 10_000 } : {})],
  ['w1soak', 'w1-lead-routing.ts', async () => (await import('./w1-lead-routing.ts')).runW1Soak({
    minutes: Number(values.soak ?? 5),
    ...(values.rate ? { rate: Number(values.rate) } : {}),
    ...(values.clients ? { clients: Number(values.clients) } : {}),
    ...(values.batch ? { batch: Number(values.batch) } : {}),
    ...(values.sample ? { sampleS: Number(values.sample) } : {}),
  })],
  ['w2', 'w2-nurture.ts', async () => (await import('./w2-nurture.ts')).runW2({ scale: values.scale ? Number(values.scale) : values.quick ? 20_000 : 1_000_000 })],
  ['w3', 'w3-sandbox.ts', async () => (await import('./w3-sandbox.ts')).runW3({})],
  ['w4', 'w4-conditions.ts', async () => (await import('./w4-conditions.ts')).runW4({})],
  ['w5', 'w5-canvas.ts', async () => (await import(path.join(ROOT, 'bench/w5-canvas.ts'))).runW5({})],
  ['w6', 'w6-segments.ts', async () => (await import('./w6-segments.ts')).runW6({ scale: values.scale ? Number(values.scale) : values.quick ? 10_000 : 100_000 })],
  ['w6s', 'w6-segments.ts', async () => (await import('./w6-segments.ts')).runW6Scores({ scale: values.scale ? Number(values.scale) : values.quick ? 100_000 : 1_000_000 })],
  ['w7', 'w7-kpis.ts', async () => (await import('./w7-kpis.ts')).runW7({ scale: values.scale ? Number(values.scale) : values.quick ? 20_000 : 100_000 })],
  ['w8', 'w8-backtest.ts', async () => (await import('./w8-backtest.ts')).runW8({ scale: values.quick ? 100_000 : 1_000_000, loadS: values.quick ? 10 : 15 })],
];

let failed = false;
for (const [id, file, run] of workloads) {
  if (!only.has(id)) continue;
  if (!existsSync(path.join(ROOT, 'bench', file))) {
    console.error(`${id}: bench/${file} is missing; skipped`);
    continue;
  }
  process.stderr.write(`running ${id}…\n`);
  try {
    const result = await run();
    for (const line of Array.isArray(result) ? result : [result]) {
      appendFileSync(out, `${JSON.stringify(line)}\n`);
      console.log(JSON.stringify(line));
      if ((line.check as { passed?: boolean } | undefined)?.passed === false) failed = true;
    }
  } catch (err) {
    failed = true;
    console.error(`${id} failed:`, err);
    appendFileSync(out, `${JSON.stringify({ workload: id, error: String(err) })}\n`);
  }
}
console.error(`results: ${path.relative(process.cwd(), out)}`);
process.exit(failed ? 1 : 0);
