import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';

/**
 * Every `pnpm bench` workload at a tiny scale, for correctness only (issue 17 deliver 7): each must finish and pass
 * its own check (nothing lost, results identical, counts equal), so the benches cannot rot between measurements.
 * No figure is asserted: timings belong to `pnpm bench`, never to a test.
 */
type Line = Record<string, unknown> & { check?: { passed?: boolean } };
const passed = (line: Line) => {
  expect(line.error, JSON.stringify(line.error)).toBeUndefined();
  expect(line.check?.passed, `check of ${String(line.workload)}: ${JSON.stringify(line.check)}`).toBe(true);
};

describe('bench workloads at smoke scale (correctness only)', () => {
  // The bench makes its own databases on the server the tests use.
  beforeAll(() => { process.env.DATABASE_URL = inject('adminUrl'); });

  it('W1 lead routing, single and batch, over HTTP against a real `cairn start`: runs = events, owner spread ≤ 1', async () => {
    const { runW1 } = await import('../../bench/w1-lead-routing.ts');
    const lines = await runW1({ repeat: 1, durationS: 1, warmup: 200 });
    expect(lines.map((l) => l.workload)).toEqual(['w1_http_single', 'w1_http_batch']);
    lines.forEach((l) => passed(l as Line));
  }, 240_000);

  it('W1 footprint over repetitions on one database: every lead completed, no step twice', async () => {
    const { runW1Footprint } = await import('../../bench/w1-lead-routing.ts');
    const line = await runW1Footprint({ repeat: 2, leads: 500 }) as Line;
    passed(line);
    expect(line.bytes_per_lead).toHaveLength(2);
  }, 240_000);

  it('W1 scale-out: one HTTP-only process and two worker processes; events = runs = completed, no step twice', async () => {
    const { runW1ScaleOut } = await import('../../bench/w1-lead-routing.ts');
    const line = await runW1ScaleOut({ workers: [2], leads: 500 }) as Line;
    passed(line);
    expect((line.by_worker_processes as { check: { completed: number } }[])[0]!.check.completed).toBe(500);
  }, 240_000);

  it('W1 retention on the test clock while events arrive: old runs and steps pruned into roll-ups, a further cycle over the same contacts', async () => {
    const { runW1Retention } = await import('../../bench/w1-lead-routing.ts');
    passed(await runW1Retention({ leads: 300, probeS: 1, further: 1 }) as Line);
  }, 240_000);

  it('W2 nurture at rest: every sleeping run wakes', async () => {
    const { runW2 } = await import('../../bench/w2-nurture.ts');
    passed(await runW2({ scale: 200 }) as Line);
  }, 240_000);

  it('W3 plugin action in the sandbox: no failed call, no post lost', async () => {
    const { runW3 } = await import('../../bench/w3-sandbox.ts');
    passed(await runW3({ scale: 0.05 }) as Line);
  }, 240_000);

  it('W4 conditions: identical results to json-rules-engine for every contact', async () => {
    const { runW4 } = await import('../../bench/w4-conditions.ts');
    const line = await runW4({ scale: 0.01 }) as Line;
    expect(line.identical).toBe(true);
    expect(line.mismatches).toBe(0);
    expect(line.contacts).toBe(100);
  }, 240_000);

  it('W6 segments: membership equals an independent SQL evaluation of every rule', async () => {
    const { runW6 } = await import('../../bench/w6-segments.ts');
    passed(await runW6({ scale: 300 }) as Line);
  }, 240_000);

  it('W6 scores: RFM and churn risk computed for every customer', async () => {
    const { runW6Scores } = await import('../../bench/w6-segments.ts');
    passed(await runW6Scores({ scale: 300 }) as Line);
  }, 240_000);

  it('W8 backtest: per-node counts equal the same flow\'s real runs over the same events', async () => {
    const { runW8 } = await import('../../bench/w8-backtest.ts');
    const out = await runW8({ scale: 2500, loadS: 1 }) as Line | Line[];
    (Array.isArray(out) ? out : [out]).forEach(passed);
  }, 420_000);

  it('W7 KPIs: every figure equals an independent SQL computation', async () => {
    const { runW7 } = await import('../../bench/w7-kpis.ts');
    passed(await runW7({ scale: 300, requests: 2 }) as Line);
  }, 240_000);

  it('W5 canvas in headless Chromium: a small flow renders and drags', async () => {
    const { runW5 } = await import('../../bench/w5-canvas.ts');
    const line = await runW5({ runs: 1, nodes: 30, edges: 32 }) as Line;
    if (typeof line.skipped === 'string') return; // no Chromium on this machine: said in the line
    // W5's check is a set of named facts, each of which must hold.
    expect(Object.values(line.check ?? {}).length).toBeGreaterThan(0);
    expect(line.check, JSON.stringify(line.check)).toEqual(Object.fromEntries(Object.keys(line.check ?? {}).map((k) => [k, true])));
  }, 300_000);
});
