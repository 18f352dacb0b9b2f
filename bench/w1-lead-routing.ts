import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ok, type ApiClient } from '../engine/src/contracts/client.ts';
import type { Db } from '../engine/src/db/index.ts';
import { EXAMPLES_DIR } from '../engine/src/flow/examples.ts';
import {
  backendCpuSampler, cpuSeconds, databaseBytes, freshDatabase, type EngineProcess, apiClient, createPublishedFlow, leadRoutingOwners, longPost, machine, memoryMb, postEvents, relationBytes, startEngine, summarize, tableBytes, waitFor, workspaceWithKey,
} from './lib.ts';

/** W1 of BENCHMARKS.md: the lead-routing flow (examples/lead-routing, exactly the W1 flow) end to end over HTTP. */
const FLOW = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'lead-routing', 'flow.json'), 'utf8')) as Record<string, unknown>;

let seq = 0;
const tag = randomBytes(3).toString('hex');
/** About half are enterprise (≥ 50 employees in US/CA). */
function leadEvent() {
  return leadEventOf(seq++);
}

/** The n-th lead of this bench process: the same n is the same contact (a returning lead). */
function leadEventOf(n: number) {
  const enterprise = n % 2 === 0;
  return {
    type: 'lead.created',
    contact: {
      email: `lead-${tag}-${n}@example.com`,
      properties: {
        country: enterprise ? (n % 4 === 0 ? 'US' : 'CA') : n % 3 === 0 ? 'US' : 'FR',
        employees: enterprise ? 50 + (n % 5000) : n % 3 === 0 ? 10 : 500,
        score: n % 100,
      },
    },
  };
}

/**
 * The W1 set-up on a fresh workspace: the owners and pool, the published lead-routing flow. Answers a counter of
 * completed runs, polled often while the engine works: it reads the run counters (a few rows), not a count over runs.
 */
async function routeLeads(api: ApiClient, db: Db, workspaceId: string): Promise<() => Promise<number>> {
  await leadRoutingOwners(api);
  await createPublishedFlow(api, FLOW);
  return async () => Number((await db.raw(`SELECT coalesce(sum(completed), 0) AS n FROM flow_stats WHERE workspace_id = ?`, [workspaceId])).rows[0].n);
}

/** Posts `leads` lead events in batches of 500 from `clients` clients in parallel; each batch must be accepted (202). */
async function postLeads(baseUrl: string, key: string, leads: number, clients: number): Promise<void> {
  let sent = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (sent < leads) {
      const n = Math.min(500, leads - sent);
      sent += n;
      const r = await postEvents(baseUrl, key, { events: Array.from({ length: n }, leadEvent) });
      if (r.status !== 202) throw new Error(`batch answered ${r.status}`);
    }
  }));
}

interface PhaseResult {
  accepted_events_per_s: number;
  completed_runs_per_s: number;
  executor_drain_runs_per_s: number;
  latency_ms: { p50: number; p90: number; p99: number };
  engine_rss_mb: number;
  engine_peak_rss_mb: number;
  pg_bytes_per_run: number;
  /** CPU milliseconds per completed run, engine process and PostgreSQL backends, from load start until drained. */
  cpu_ms_per_run: { engine: number; postgres: number };
  /** Most connections to the database at once during the phase, by application_name. */
  peak_connections: Record<string, number>;
  pg_run_history_bytes_per_run: number;
  /** Growth per completed run of each table (with its indexes and TOAST), largest first. */
  pg_bytes_per_run_by_table: Record<string, number>;
  accepted: number;
  completed: number;
  non_2xx: number;
  check: { runs_equal_events: boolean; owner_spread: number; passed: boolean; runs_total: number; accepted_by_client: number };
}

async function phase(kind: 'single' | 'batch', opts: { durationS: number; warmup: number }): Promise<PhaseResult> {
  const warm = opts.warmup;
  const database = await freshDatabase();
  const { workspaceId, key } = await workspaceWithKey(database.db);
  const engine = await startEngine(database.url);
  try {
    const completed = await routeLeads(apiClient(engine.url, key), database.db, workspaceId);

    // Warm-up: 2,000 events by default.
    await postLeads(engine.url, key, warm, 1);
    await waitFor(async () => (await completed()) === warm, 120_000);

    const bytesBefore = await databaseBytes(database.db);
    const historyBefore = await tableBytes(database.db, ['runs', 'run_steps']);
    const perTableBefore = await relationBytes(database.db);
    const t0 = new Date();
    const engineCpu0 = cpuSeconds(engine.pid);
    const pgCpu = backendCpuSampler(database.db);
    const perRequest = kind === 'single' ? 1 : 500;
    const result = await autocannon({
      url: `${engine.url}/v1/events${kind === 'batch' ? '/batch' : ''}`,
      connections: kind === 'single' ? 20 : 4,
      duration: opts.durationS,
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      requests: [{
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify(kind === 'single' ? leadEvent() : { events: Array.from({ length: 500 }, leadEvent) }),
        }),
      }],
    });
    const loadSeconds = (Date.now() - t0.getTime()) / 1000;
    // Accepted = what the engine committed for this phase. Requests still in flight when the load stopped are
    // committed a moment later: wait until the count settles.
    const eventCount = async () => Number((await database.db.raw(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND received_at >= ?`, [workspaceId, t0])).rows[0].n);
    let accepted = await eventCount();
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const again = await eventCount();
      if (again === accepted) break;
      accepted = again;
    }
    const acceptedByClient = result['2xx'] * perRequest;
    // Once the load has stopped, the backlog is drained by the executor alone (no ingestion competing for the cores).
    const backlogFrom = { at: Date.now(), completed: await completed() };
    await waitFor(async () => (await completed()) >= warm + accepted, 600_000, 50);
    const drainedSeconds = (Date.now() - t0.getTime()) / 1000;
    const backlogSeconds = (Date.now() - backlogFrom.at) / 1000;
    const backlogRuns = warm + accepted - backlogFrom.completed;
    const mem = memoryMb(engine.pid);
    const done = (await completed()) - warm;
    const engineCpuMs = (cpuSeconds(engine.pid) - engineCpu0) * 1000;
    const pgCpuMs = (await pgCpu.stop()) * 1000;
    const peakConnections = pgCpu.peakBackends();

    const lat = await database.db.raw(
      `SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - e.received_at) * 1000) AS p
         FROM run_step_history s JOIN runs r ON r.workspace_id = s.workspace_id AND r.id = s.run_id JOIN events e ON e.workspace_id = r.workspace_id AND e.id = r.trigger_event_id
        WHERE s.node_id = 'assign' AND r.workspace_id = ? AND e.received_at >= ?`,
      [workspaceId, t0],
    );
    const [p50, p90, p99] = (lat.rows[0].p as number[]).map((x) => Math.round(x * 10) / 10);
    const perOwner = await database.db.raw(`SELECT count(*)::int AS n FROM contacts WHERE workspace_id = ? AND owner_id IS NOT NULL GROUP BY owner_id`, [workspaceId]);
    const counts = (perOwner.rows as { n: number }[]).map((r) => r.n);
    const spread = Math.max(...counts) - Math.min(...counts);
    const runsTotal = Number((await database.db.raw(`SELECT count(*) AS n FROM runs WHERE workspace_id = ?`, [workspaceId])).rows[0].n);
    const bytesAfter = await databaseBytes(database.db);
    const historyAfter = await tableBytes(database.db, ['runs', 'run_steps']);
    const perTableAfter = await relationBytes(database.db);
    const byTable = Object.fromEntries(
      [...perTableAfter].map(([t, b]) => [t, Math.round((b - (perTableBefore.get(t) ?? 0)) / Math.max(1, done))] as const)
        .filter(([, b]) => b !== 0).sort((a, b) => b[1] - a[1]),
    );
    const runsEqualEvents = done === accepted && runsTotal === warm + accepted && acceptedByClient <= accepted;
    return {
      accepted_events_per_s: Math.round(accepted / loadSeconds),
      completed_runs_per_s: Math.round(done / drainedSeconds),
      executor_drain_runs_per_s: backlogRuns > 1000 ? Math.round(backlogRuns / backlogSeconds) : 0,
      latency_ms: { p50: p50!, p90: p90!, p99: p99! },
      engine_rss_mb: mem.rss,
      engine_peak_rss_mb: mem.peak,
      pg_bytes_per_run: Math.round((bytesAfter - bytesBefore) / Math.max(1, done)),
      cpu_ms_per_run: { engine: Math.round((engineCpuMs / Math.max(1, done)) * 1000) / 1000, postgres: Math.round((pgCpuMs / Math.max(1, done)) * 1000) / 1000 },
      pg_run_history_bytes_per_run: Math.round((historyAfter - historyBefore) / Math.max(1, done)),
      pg_bytes_per_run_by_table: byTable,
      peak_connections: peakConnections,
      accepted,
      completed: done,
      non_2xx: result.non2xx,
      check: { runs_equal_events: runsEqualEvents, owner_spread: spread, passed: runsEqualEvents && spread <= 1 && result.non2xx === 0, runs_total: runsTotal, accepted_by_client: acceptedByClient },
    };
  } finally {
    await engine.stop();
    await database.drop();
  }
}

/** Runs both W1 workloads `repeat` times on fresh databases; medians with the spread. */
export async function runW1(opts: { repeat?: number; durationS?: number; kinds?: ('single' | 'batch')[]; warmup?: number } = {}): Promise<Record<string, unknown>[]> {
  const repeat = opts.repeat ?? 3;
  const durationS = opts.durationS ?? 20;
  const lines: Record<string, unknown>[] = [];
  for (const kind of opts.kinds ?? (['single', 'batch'] as const)) {
    const results: PhaseResult[] = [];
    for (let i = 0; i < repeat; i++) results.push(await phase(kind, { durationS, warmup: opts.warmup ?? 2000 }));
    const s = (f: (r: PhaseResult) => number, d = 0) => summarize(results.map(f), d);
    lines.push({
      workload: `w1_http_${kind}`,
      date: new Date().toISOString(),
      machine: machine(),
      setup: kind === 'single' ? `20 concurrent HTTP clients, single events, ${durationS} s` : `4 concurrent clients, batches of 500, ${durationS} s`,
      repeat,
      accepted_events_per_s: s((r) => r.accepted_events_per_s),
      completed_runs_per_s: s((r) => r.completed_runs_per_s),
      executor_drain_runs_per_s: s((r) => r.executor_drain_runs_per_s),
      latency_ms_p50: s((r) => r.latency_ms.p50, 1),
      latency_ms_p90: s((r) => r.latency_ms.p90, 1),
      latency_ms_p99: s((r) => r.latency_ms.p99, 1),
      engine_rss_mb: s((r) => r.engine_rss_mb),
      engine_peak_rss_mb: s((r) => r.engine_peak_rss_mb),
      pg_bytes_per_completed_run: s((r) => r.pg_bytes_per_run),
      engine_cpu_ms_per_run: s((r) => r.cpu_ms_per_run.engine, 3),
      postgres_cpu_ms_per_run: s((r) => r.cpu_ms_per_run.postgres, 3),
      pg_run_history_bytes_per_run: s((r) => r.pg_run_history_bytes_per_run),
      pg_bytes_per_run_by_table: results[Math.floor(results.length / 2)]!.pg_bytes_per_run_by_table,
      peak_connections: results.map((r) => r.peak_connections),
      counted: 'accepted = events committed by the engine during the load (requests in flight at the end included); completed runs/s = runs of those events completed ÷ time from load start until the backlog drained; executor drain = runs completed ÷ time after the load stopped, while the executor works the backlog alone (0 when under 1,000 runs were left); latency = event received_at → the assign step recorded (batch time); bytes = database growth ÷ runs (incl. events, contacts, queue churn) and runs+run_steps growth ÷ runs; CPU ms per run = CPU time of the engine process and of the database\'s PostgreSQL backends from load start until drained ÷ runs (steadier than rates on a shared machine)',
      check: { passed: results.every((r) => r.check.passed), per_run: results.map((r) => ({ accepted: r.accepted, completed: r.completed, non_2xx: r.non_2xx, owner_spread: r.check.owner_spread, runs_total: r.check.runs_total, accepted_by_client: r.check.accepted_by_client })) },
    });
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await runW1({ repeat: 1, durationS: 10 })) console.log(JSON.stringify(line));
}

/**
 * Footprint over repetitions (issue 17): one database and one engine, W1 batch load of `leads` new leads per
 * repetition, `repeat` times, autovacuum as configured. Reports database growth per lead in each repetition (and by
 * table), so reuse of space freed by autovacuum shows as a steady or falling figure instead of a fresh database's.
 * `vacuum` (`--vacuum`): a VACUUM of the database after each repetition is measured, what autovacuum does between
 * repetitions on a server where it is on (the server's setting is reported either way).
 */
export async function runW1Footprint(opts: { repeat?: number; leads?: number; vacuum?: boolean } = {}): Promise<Record<string, unknown>> {
  const repeat = opts.repeat ?? 5;
  const leads = opts.leads ?? 50_000;
  const database = await freshDatabase();
  const autovacuum = String((await database.db.raw('SHOW autovacuum')).rows[0].autovacuum);
  const { workspaceId, key } = await workspaceWithKey(database.db);
  const engine = await startEngine(database.url);
  try {
    const completed = await routeLeads(apiClient(engine.url, key), database.db, workspaceId);
    const reps: { bytes_per_lead: number; by_table: Record<string, number>; seconds: number }[] = [];
    let total = 0;
    for (let i = 0; i < repeat; i++) {
      const before = await databaseBytes(database.db);
      const perTableBefore = await relationBytes(database.db);
      const t0 = Date.now();
      await postLeads(engine.url, key, leads, 4);
      total += leads;
      await waitFor(async () => (await completed()) === total, 600_000, 100);
      const after = await databaseBytes(database.db);
      const perTableAfter = await relationBytes(database.db);
      reps.push({
        bytes_per_lead: Math.round((after - before) / leads),
        by_table: Object.fromEntries([...perTableAfter].map(([t, b]) => [t, Math.round((b - (perTableBefore.get(t) ?? 0)) / leads)] as const)
          .filter(([, b]) => b !== 0).sort((a, b) => b[1] - a[1])),
        seconds: Math.round((Date.now() - t0) / 100) / 10,
      });
      if (opts.vacuum) await database.db.raw('VACUUM');
    }
    const runsTotal = Number((await database.db.raw(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status = 'completed'`, [workspaceId])).rows[0].n);
    const stepsTwice = Number((await database.db.raw(
      `SELECT count(*) AS n FROM (SELECT run_id, node_id FROM run_step_history WHERE workspace_id = ? GROUP BY 1, 2 HAVING count(*) > 1) d`, [workspaceId],
    )).rows[0].n);
    return {
      workload: 'w1_footprint',
      date: new Date().toISOString(),
      machine: machine(),
      setup: `one database, ${repeat} repetitions of ${leads} W1 leads (4 clients, batches of 500), autovacuum as configured (${autovacuum})${opts.vacuum ? ', VACUUM after each repetition' : ''}`,
      autovacuum,
      vacuum_between_repetitions: opts.vacuum === true,
      bytes_per_lead: reps.map((r) => r.bytes_per_lead),
      bytes_per_lead_last: reps[reps.length - 1]!.bytes_per_lead,
      by_table: reps.map((r) => r.by_table),
      seconds: reps.map((r) => r.seconds),
      counted: 'database growth (pg_database_size) during one repetition ÷ its leads, after its backlog drained; by table: each table with its indexes and TOAST',
      check: { passed: runsTotal === total && stepsTwice === 0, completed_runs: runsTotal, leads: total, steps_twice: stepsTwice },
    };
  } finally {
    await engine.stop();
    await database.drop();
  }
}

/**
 * Scale-out (issue 17): one HTTP-only process (CAIRN_WORKERS=false) takes the W1 batch load while 1, then 2, worker
 * processes on the same PostgreSQL run the flows. Reports completed runs/s for each count, and checks that every
 * event became exactly one completed run with each step recorded once and owners evenly spread.
 */
export async function runW1ScaleOut(opts: { workers?: number[]; leads?: number } = {}): Promise<Record<string, unknown>> {
  const leads = opts.leads ?? 40_000;
  const perCount: Record<string, unknown>[] = [];
  for (const n of opts.workers ?? [1, 2]) {
    const database = await freshDatabase();
    const { workspaceId, key } = await workspaceWithKey(database.db);
    const http = await startEngine(database.url, { CAIRN_WORKERS: 'false' });
    const workers: EngineProcess[] = [];
    try {
      for (let i = 0; i < n; i++) workers.push(await startEngine(database.url));
      const completed = await routeLeads(apiClient(http.url, key), database.db, workspaceId);
      const t0 = Date.now();
      await postLeads(http.url, key, leads, 4);
      const acceptedS = (Date.now() - t0) / 1000;
      await waitFor(async () => (await completed()) >= leads, 600_000, 50);
      const seconds = (Date.now() - t0) / 1000;
      const one = async (sql: string) => Number((await database.db.raw(sql, [workspaceId])).rows[0].n);
      const events = await one(`SELECT count(*) AS n FROM events WHERE workspace_id = ?`);
      const runs = await one(`SELECT count(*) AS n FROM runs WHERE workspace_id = ?`);
      const done = await one(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status = 'completed'`);
      const stepsTwice = await one(`SELECT count(*) AS n FROM (SELECT run_id, node_id FROM run_step_history WHERE workspace_id = ? GROUP BY 1, 2 HAVING count(*) > 1) d`);
      const steps = await one(`SELECT count(*) AS n FROM run_step_history WHERE workspace_id = ?`);
      const perOwner = ((await database.db.raw(`SELECT count(*)::int AS n FROM contacts WHERE workspace_id = ? AND owner_id IS NOT NULL GROUP BY owner_id`, [workspaceId])).rows as { n: number }[]).map((r) => r.n);
      const spread = Math.max(...perOwner) - Math.min(...perOwner);
      const ok = events === leads && runs === leads && done === leads && stepsTwice === 0 && steps === 3 * leads && spread <= 1;
      perCount.push({
        worker_processes: n,
        accepted_events_per_s: Math.round(leads / acceptedS),
        completed_runs_per_s: Math.round(leads / seconds),
        check: { passed: ok, events, runs, completed: done, steps, steps_twice: stepsTwice, owner_spread: spread },
      });
    } finally {
      for (const w of workers) await w.stop();
      await http.stop();
      await database.drop();
    }
  }
  return {
    workload: 'w1_scale_out',
    date: new Date().toISOString(),
    machine: machine(),
    setup: `one HTTP-only process (CAIRN_WORKERS=false) + N worker processes on one PostgreSQL, ${leads} W1 leads in batches of 500 from 4 clients`,
    by_worker_processes: perCount,
    counted: 'completed runs/s = leads ÷ time from the first batch until every run completed; accepted = leads ÷ time to post them',
    check: { passed: perCount.every((p) => (p.check as { passed: boolean }).passed) },
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10 : null;
};

/**
 * Retention while ingesting (issue 17): `leads` W1 runs on the test clock, 30-day windows for step detail, events and
 * runs, then the clock moves 31 days (pruning runs at the end of the move) while one client keeps posting single
 * events. Reports that client's latency (request → 202) before and during the prune and checks the old runs are gone
 * into the roll-ups. Then `further` W1 cycles over the same contacts (returning leads), each followed by 31 days, and
 * the database size before and after each, measured after a VACUUM (autovacuum's pass, made explicit).
 */
export async function runW1Retention(opts: { leads?: number; probeS?: number; further?: number } = {}): Promise<Record<string, unknown>> {
  const leads = opts.leads ?? 50_000;
  const probeS = opts.probeS ?? 5;
  const further = opts.further ?? 3;
  const database = await freshDatabase();
  const { workspaceId, key } = await workspaceWithKey(database.db);
  const engine = await startEngine(database.url, { CAIRN_CLOCK: 'manual' });
  try {
    const completed = await routeLeads(apiClient(engine.url, key), database.db, workspaceId);
    const count = async (sql: string, bindings: string[] = []) => Number((await database.db.raw(sql, [workspaceId, ...bindings])).rows[0].n);
    const firstLead = seq;
    const cycle = async (from: number) => {
      for (let i = 0; i < leads; i += 500) {
        const r = await postEvents(engine.url, key, { events: Array.from({ length: Math.min(500, leads - i) }, (_, k) => leadEventOf(from + i + k)) });
        if (r.status !== 202) throw new Error(`batch answered ${r.status}`);
      }
    };
    await cycle(firstLead);
    seq += leads;
    await waitFor(async () => (await completed()) >= leads, 600_000, 100);
    // Run ids are time-ordered within one engine process: the load's runs are those up to this one.
    const lastLoadRun = (await database.db.raw(`SELECT max(id::text) AS id FROM runs WHERE workspace_id = ?`, [workspaceId])).rows[0].id as string;
    const stepsBefore = await count(`SELECT count(*) AS n FROM run_step_history WHERE workspace_id = ?`);
    await ok(apiClient(engine.url, key).PUT('/v1/settings/retention', { body: { run_steps_days: 30, events_days: 30, runs_days: 30 } }));

    // One client posting single events back to back; each latency is tagged with the phase it ran in.
    const state: { phase: 'before' | 'during' | 'stop' } = { phase: 'before' };
    const lat: Record<'before' | 'during', number[]> = { before: [], during: [] };
    const probe = (async () => {
      for (;;) {
        const p = state.phase;
        if (p === 'stop') return;
        const t = performance.now();
        const r = await postEvents(engine.url, key, leadEvent(), true);
        if (r.status !== 202) throw new Error(`event answered ${r.status}`);
        lat[p].push(performance.now() - t);
      }
    })();
    await new Promise((r) => setTimeout(r, probeS * 1000));
    state.phase = 'during';
    const t0 = performance.now();
    const status = await longPost(`${engine.url}/v1/_test/clock/advance`, key, { by: 'P31D' });
    const advanceS = (performance.now() - t0) / 1000;
    state.phase = 'stop';
    await probe;
    const probed = lat.before.length + lat.during.length;
    const oldRunsLeft = await count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND id <= ?::uuid`, [lastLoadRun]);
    const stepsLeft = await count(`SELECT count(*) AS n FROM run_step_history WHERE workspace_id = ? AND run_id <= ?::uuid`, [lastLoadRun]);
    const rolledUp = await count(`SELECT coalesce(sum(entered), 0) AS n FROM run_rollups WHERE workspace_id = ?`);

    // The database before and after each further cycle over the same contacts, once that cycle's runs are past the window.
    const settle = async () => {
      await database.db.raw('VACUUM');
      return { database: await databaseBytes(database.db), tables: await relationBytes(database.db) };
    };
    const sizes = [await settle()];
    const statuses = [status];
    for (let c = 1; c <= further; c++) {
      await cycle(firstLead);
      await waitFor(async () => (await completed()) >= (1 + c) * leads + probed, 600_000, 100);
      statuses.push(await longPost(`${engine.url}/v1/_test/clock/advance`, key, { by: 'P31D' }));
      sizes.push(await settle());
    }
    const runsLeft = await count(`SELECT count(*) AS n FROM runs WHERE workspace_id = ?`);
    const rolledUpAll = await count(`SELECT coalesce(sum(entered), 0) AS n FROM run_rollups WHERE workspace_id = ?`);
    // Each contact's first event is kept (docs/operations.md §Retention); the returning leads' events are pruned.
    const eventsLeft = await count(`SELECT count(*) AS n FROM events WHERE workspace_id = ?`);
    const mb = (b: number) => Math.round(b / 2 ** 20 * 10) / 10;
    const growth = sizes.slice(1).map((after, i) => Object.fromEntries([...after.tables].map(([t, b]) => [t, b - (sizes[i]!.tables.get(t) ?? 0)] as const)
      .filter(([, b]) => b !== 0).sort((x, y) => y[1] - x[1])));
    return {
      workload: 'w1_retention',
      date: new Date().toISOString(),
      machine: machine(),
      setup: `${leads} W1 leads on the test clock, run_steps_days/events_days/runs_days 30, clock advanced 31 days while one client posts single events back to back; then ${further} cycles of ${leads} returning leads (same contacts), each followed by 31 days`,
      steps_pruned: stepsBefore - stepsLeft,
      runs_pruned: rolledUp,
      advance_and_prune_seconds: Math.round(advanceS * 10) / 10,
      ingest_latency_ms_before: { n: lat.before.length, p50: pct(lat.before, 0.5), p99: pct(lat.before, 0.99) },
      ingest_latency_ms_during_prune: { n: lat.during.length, p50: pct(lat.during, 0.5), p99: pct(lat.during, 0.99), max: pct(lat.during, 1) },
      database_mb_after_each_cycle: sizes.map((x) => mb(x.database)),
      growth_bytes_per_returning_lead: sizes.slice(1).map((x, i) => Math.round((x.database - sizes[i]!.database) / leads)),
      growth_bytes_by_table: growth,
      counted: 'latency = one client, request sent → 202 received, single events back to back; "during" covers the whole clock advance (its drain, then the prune). Database sizes (pg_database_size, by table with indexes and TOAST) after VACUUM, once the cycle\'s runs are past the window',
      check: {
        passed: statuses.every((x) => x === 200) && oldRunsLeft === 0 && stepsLeft === 0 && rolledUp >= leads && stepsBefore === 3 * leads
          && runsLeft === 0 && rolledUpAll === (1 + further) * leads + probed && eventsLeft === leads + probed,
        advance_status: statuses, old_runs_left: oldRunsLeft, steps_left_of_old_runs: stepsLeft, runs_rolled_up: rolledUpAll, runs_left: runsLeft,
        events_left: eventsLeft, contacts: leads + probed,
      },
    };
  } finally {
    await engine.stop();
    await database.drop();
  }
}

/**
 * The hour-long run (issue 17): one database and one engine under a steady, moderate W1 load for `minutes` minutes
 * (`clients` clients, each posting single events, or batches of `batch`, paced to `rate` leads/s in all), sampling
 * every `sampleS` seconds the database's growth per lead completed in that interval and since the start, by table,
 * and each hot table's dead rows. Ends by draining and checking that every accepted event became exactly one
 * completed run, each step recorded once.
 */
export async function runW1Soak(opts: { minutes: number; rate?: number; clients?: number; batch?: number; sampleS?: number }): Promise<Record<string, unknown>> {
  const rate = opts.rate ?? 150;
  const clients = opts.clients ?? 5;
  const batch = opts.batch ?? 1;
  const sampleS = opts.sampleS ?? (opts.minutes >= 30 ? 300 : 60);
  const database = await freshDatabase();
  const autovacuum = String((await database.db.raw('SHOW autovacuum')).rows[0].autovacuum);
  const { workspaceId, key } = await workspaceWithKey(database.db);
  const engine = await startEngine(database.url);
  const log = (line: Record<string, unknown>) => process.stderr.write(`w1soak ${JSON.stringify(line)}\n`);
  try {
    const completed = await routeLeads(apiClient(engine.url, key), database.db, workspaceId);
    const start = { at: Date.now(), bytes: await databaseBytes(database.db), tables: await relationBytes(database.db) };
    const end = start.at + opts.minutes * 60_000;
    let accepted = 0;
    let failures = 0;
    const latencies: number[] = [];
    // Each client sends one request per `every` ms, whatever the last took (a slow answer is not made up for later).
    const every = (1000 * clients * batch) / rate;
    const load = Promise.all(Array.from({ length: clients }, async (_, c) => {
      await new Promise((r) => setTimeout(r, (every * c) / clients));
      for (let next = Date.now(); Date.now() < end; ) {
        const t = performance.now();
        const r = batch === 1
          ? await postEvents(engine.url, key, leadEvent(), true)
          : await postEvents(engine.url, key, { events: Array.from({ length: batch }, leadEvent) });
        latencies.push(performance.now() - t);
        if (r.status === 202) accepted += batch;
        else failures++;
        next = Math.max(next + every, Date.now());
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      }
    }));
    const deadRows = async () => Object.fromEntries(((await database.db.raw(
      `SELECT relname, n_dead_tup::bigint AS n FROM pg_stat_user_tables WHERE relname = ANY(?::text[]) ORDER BY relname`,
      [['contacts', 'events', 'runs', 'run_steps', '_private_jobs']],
    )).rows as { relname: string; n: string }[]).map((r) => [r.relname, Number(r.n)]));
    const samples: Record<string, unknown>[] = [];
    let prev = { at: start.at, bytes: start.bytes, tables: start.tables, done: 0 };
    const sample = async () => {
      const done = await completed();
      const bytes = await databaseBytes(database.db);
      const tables = await relationBytes(database.db);
      const leads = done - prev.done;
      const lat = latencies.splice(0);
      const s = {
        minute: Math.round((Date.now() - start.at) / 6000) / 10,
        completed_leads: done,
        leads_per_s: Math.round(leads / ((Date.now() - prev.at) / 1000)),
        bytes_per_lead_interval: leads ? Math.round((bytes - prev.bytes) / leads) : null,
        bytes_per_lead_total: done ? Math.round((bytes - start.bytes) / done) : null,
        database_mb: Math.round(bytes / 2 ** 20 * 10) / 10,
        by_table_interval: leads ? Object.fromEntries([...tables].map(([t, b]) => [t, Math.round((b - (prev.tables.get(t) ?? 0)) / leads)] as const)
          .filter(([, b]) => b !== 0).sort((a, b) => b[1] - a[1])) : {},
        table_mb: Object.fromEntries([...tables].filter(([, b]) => b >= 2 ** 20).map(([t, b]) => [t, Math.round(b / 2 ** 20 * 10) / 10] as const)
          .sort((a, b) => b[1] - a[1])),
        dead_rows: await deadRows(),
        request_ms: { p50: pct(lat, 0.5), p99: pct(lat, 0.99) },
      };
      samples.push(s);
      log(s);
      prev = { at: Date.now(), bytes, tables, done };
    };
    while (Date.now() + sampleS * 1000 <= end + 1000) {
      await new Promise((r) => setTimeout(r, sampleS * 1000));
      await sample();
    }
    await load;
    await waitFor(async () => (await completed()) >= accepted, 600_000, 100);
    if ((await completed()) > prev.done) await sample();
    const one = async (sql: string) => Number((await database.db.raw(sql, [workspaceId])).rows[0].n);
    const events = await one(`SELECT count(*) AS n FROM events WHERE workspace_id = ?`);
    const runs = await one(`SELECT count(*) AS n FROM runs WHERE workspace_id = ?`);
    const done = await one(`SELECT count(*) AS n FROM runs WHERE workspace_id = ? AND status = 'completed'`);
    const stepsTwice = await one(`SELECT count(*) AS n FROM (SELECT run_id, node_id FROM run_step_history WHERE workspace_id = ? GROUP BY 1, 2 HAVING count(*) > 1) d`);
    const perLead = samples.map((s) => s.bytes_per_lead_interval as number | null).filter((b): b is number => b !== null);
    return {
      workload: 'w1_soak',
      date: new Date().toISOString(),
      machine: machine(),
      setup: `one database and engine, ${opts.minutes} min of W1 leads at ${rate}/s from ${clients} clients (${batch === 1 ? 'single events' : `batches of ${batch}`}), sampled every ${sampleS} s, autovacuum as configured (${autovacuum})`,
      autovacuum,
      bytes_per_lead_interval: perLead,
      bytes_per_lead_total: samples[samples.length - 1]!.bytes_per_lead_total,
      samples,
      counted: 'per sample: database growth (pg_database_size) since the previous sample ÷ runs completed since then, and since the start ÷ all runs completed; by table: each table with its indexes and TOAST; request_ms: request sent → answered, this interval',
      check: { passed: failures === 0 && events === accepted && runs === accepted && done === accepted && stepsTwice === 0, accepted, failures, events, runs, completed: done, steps_twice: stepsTwice },
    };
  } finally {
    await engine.stop();
    await database.drop();
  }
}
