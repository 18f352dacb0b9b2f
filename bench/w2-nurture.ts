import { randomBytes } from 'node:crypto';
import { backendCpuSampler, cpuSeconds, databaseBytes, freshDatabase, machine, memoryMb, apiClient, createPublishedFlow, longPost, postEvents, startEngine, testClock, tableBytes, waitFor, workspaceWithKey } from './lib.ts';

/** W2 of BENCHMARKS.md: many contacts each in a run sleeping in a delay of 1–30 days. */
const FLOW = {
  schema: 'cairn.flow/v1',
  name: 'Nurture at rest',
  settings: { reentry: 'after_exit', goal: null, exit_on: [] },
  nodes: [
    { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'nurture.enrolled' } },
    { id: 'rest', type: 'delay', position: { x: 0, y: 120 }, config: { mode: 'date_property', property: 'wake_on' } },
    { id: 'woke', type: 'action.tag', position: { x: 0, y: 240 }, config: { add: ['woke'] } },
  ],
  edges: [{ id: 'e1', source: 'start', target: 'rest' }, { id: 'e2', source: 'rest', target: 'woke' }],
};

export async function runW2(opts: { scale?: number } = {}): Promise<Record<string, unknown>> {
  const n = opts.scale ?? 100_000;
  const database = await freshDatabase();
  const { workspaceId, key } = await workspaceWithKey(database.db);
  const engine = await startEngine(database.url, { CAIRN_CLOCK: 'manual' });
  try {
    await createPublishedFlow(apiClient(engine.url, key), FLOW);
    const start = await testClock(engine.url, key);
    const tag = randomBytes(3).toString('hex');
    const bytesBefore = await databaseBytes(database.db);
    const runBytesBefore = await tableBytes(database.db, ['runs', 'run_steps']);

    // Enrol: 4 clients posting batches of 1,000; each contact wakes 1–30 days out (whole hours).
    const t0 = Date.now();
    let next = 0;
    const client = async () => {
      while (next < n) {
        const from = next;
        next = Math.min(n, next + 1000);
        const events = [];
        for (let i = from; i < next; i++) {
          const hours = 24 + ((i * 7919) % (29 * 24 + 1));
          events.push({ type: 'nurture.enrolled', contact: { email: `rest-${tag}-${i}@example.com`, properties: { wake_on: new Date(start.getTime() + hours * 3600_000).toISOString() } } });
        }
        const r = await postEvents(engine.url, key, { events });
        if (r.status !== 202) throw new Error(`enrol: ${r.status}`);
      }
    };
    const waiting = async () => Number((await database.db.raw(`SELECT coalesce(sum(waiting), 0) AS n FROM node_stats WHERE workspace_id = ? AND node_id = 'rest'`, [workspaceId])).rows[0].n);
    // Enrolment by tenths of the scale (runs waiting), each with its rate and CPU per run (engine + PostgreSQL
    // backends): whether enrolling gets dearer as the tables grow shows as the last tenth against the first, measured
    // in the same run under the same conditions.
    const tenths: { runs_per_s: number; cpu_ms_per_run: number }[] = [];
    const tenthsDone = (async () => {
      let at = { t: t0, runs: 0, engine: cpuSeconds(engine.pid) };
      let pg = backendCpuSampler(database.db);
      for (let k = 1; k <= 10; k++) {
        const target = Math.round((n * k) / 10);
        await waitFor(async () => (await waiting()) >= target, 3_600_000, 200);
        const now = { t: Date.now(), runs: await waiting(), engine: cpuSeconds(engine.pid) };
        const pgSeconds = await pg.stop();
        pg = backendCpuSampler(database.db);
        const runs = Math.max(1, now.runs - at.runs);
        tenths.push({ runs_per_s: Math.round(runs / ((now.t - at.t) / 1000)), cpu_ms_per_run: Math.round(((now.engine - at.engine + pgSeconds) * 1000 / runs) * 1000) / 1000 });
        at = now;
      }
      await pg.stop();
    })();
    await Promise.all([client(), client(), client(), client()]);
    await waitFor(async () => (await waiting()) === n, 3_600_000, 200);
    await tenthsDone;
    const enrollSeconds = (Date.now() - t0) / 1000;
    await database.db.raw('VACUUM ANALYZE runs, run_steps');
    const runBytes = (await tableBytes(database.db, ['runs', 'run_steps'])) - runBytesBefore;
    const totalBytes = (await databaseBytes(database.db)) - bytesBefore;

    // Idle: nothing due; the engine should use about no CPU.
    const idleWindowS = 10;
    const cpu0 = cpuSeconds(engine.pid);
    await new Promise((r) => setTimeout(r, idleWindowS * 1000));
    const idleCpuPercent = ((cpuSeconds(engine.pid) - cpu0) / idleWindowS) * 100;
    const rss = memoryMb(engine.pid);

    // Advance the test clock through all 30 days: every wake-up fires, in order, before the call returns.
    const t1 = Date.now();
    const status = await longPost(`${engine.url}/v1/_test/clock/advance`, key, { by: 'P31D' });
    const wakeSeconds = (Date.now() - t1) / 1000;
    const completed = Number((await database.db.raw(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status = 'completed'`, [workspaceId])).rows[0].n);
    const lateness = await database.db.raw(
      `SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - (c.properties->>'wake_on')::timestamptz) * 1000) AS p,
              min(extract(epoch FROM s.finished_at - (c.properties->>'wake_on')::timestamptz) * 1000) AS early
         FROM run_step_history s JOIN runs r ON r.workspace_id = s.workspace_id AND r.id = s.run_id JOIN contacts c ON c.workspace_id = r.workspace_id AND c.id = r.contact_id
        WHERE r.workspace_id = ? AND s.node_id = 'rest'`,
      [workspaceId],
    );
    const [p50, p99] = lateness.rows[0].p as number[];
    const woke = Number((await database.db.raw(`SELECT count(*) AS n FROM contacts WHERE workspace_id = ? AND 'woke' = ANY(tags)`, [workspaceId])).rows[0].n);
    return {
      workload: 'w2_nurture_at_rest',
      date: new Date().toISOString(),
      machine: machine(),
      scale: n,
      scale_note: n < 1_000_000 ? `run at --scale ${n} (the full workload is 1,000,000)` : 'full scale',
      enroll_seconds: Math.round(enrollSeconds * 10) / 10,
      enroll_runs_per_s: Math.round(n / enrollSeconds),
      // Under 100,000 a tenth is a few of the clients' 1,000-event batches: too coarse to say anything.
      ...(n >= 100_000 ? {
        enroll_by_tenth: tenths,
        enroll_last_vs_first_tenth: { runs_per_s: Math.round((tenths[9]!.runs_per_s / tenths[0]!.runs_per_s) * 100) / 100, cpu_ms_per_run: Math.round((tenths[9]!.cpu_ms_per_run / tenths[0]!.cpu_ms_per_run) * 100) / 100 },
      } : {}),
      pg_bytes_per_waiting_run: Math.round(runBytes / n),
      pg_bytes_per_contact_total: Math.round(totalBytes / n),
      engine_idle_cpu_percent: Math.round(idleCpuPercent * 100) / 100,
      engine_rss_mb: rss.rss,
      wakeups_per_s: Math.round(n / wakeSeconds),
      wake_seconds: Math.round(wakeSeconds * 10) / 10,
      lateness_ms_p50: Math.round(p50!),
      lateness_ms_p99: Math.round(p99!),
      counted: 'bytes per waiting run = growth of runs + run_steps (with indexes) ÷ runs after VACUUM; idle CPU over 10 s with nothing due; enrol by tenth = runs waiting per second and CPU ms per run (engine + PostgreSQL backends) over each tenth of the scale; wake-ups/s = runs ÷ wall time of one clock advance through 31 days (the engine steps the test clock to each due time in order); lateness = delay step recorded time − its due time, in engine (test clock) time',
      check: { passed: status === 200 && completed === n && woke === n && Number(lateness.rows[0].early) >= 0, advance_status: status, completed, woke },
    };
  } finally {
    await engine.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--scale');
  console.log(JSON.stringify(await runW2({ scale: i > 0 ? Number(process.argv[i + 1]) : 10_000 })));
}
