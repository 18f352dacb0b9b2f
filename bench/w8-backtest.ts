/**
 * W8 backtest (BENCHMARKS.md). A flow with a condition, a 3-day delay, a wait-for-event and two actions (a tag and a
 * webhook to a local receiver) runs live for real over three simulated weeks (`cairn start` with CAIRN_CLOCK=manual,
 * the clock moved an hour at a time, every event the flow reacts to posted through POST /v1/events/batch). The rest
 * of the `scale` events (page views, email opens: types no flow reacts to, so the live engine would only have stored
 * them) are written straight into the events table over the same period. Then, against a fresh `cairn start`:
 * - the backtest of the flow's version over the period: events of the period per second, progress seen, peak RSS;
 * - W1 single-event ingestion (20 clients, another workspace) alone and while backtests run back to back: the ratio;
 * - check: the backtest's per-node counts equal the flow's real runs (GET /v1/flows/{id}/stats).
 *
 * Run alone: `node --no-node-snapshot --import tsx bench/w8-backtest.ts [--scale 200000]` prints one JSON line.
 */
import autocannon from 'autocannon';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { ok } from '../engine/src/contracts/client.ts';
import { EXAMPLES_DIR } from '../engine/src/flow/examples.ts';
import { apiClient, createPublishedFlow, freshDatabase, leadRoutingOwners, machine, memoryMb, postEvents, advanceTestClock, startEngine, testClock, waitFor, workspaceWithKey, type EngineProcess } from './lib.ts';
import { prng } from '../engine/test/prng.ts';
import { edge, node } from '../engine/test/flow-doc.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PERIOD_DAYS = 21;
/** Signups stop here, so most runs end within the period (a run still waiting at its end is counted as waiting in both). */
const SIGNUP_DAYS = 15;


const flowDocument = (hook: string) => ({
  schema: 'cairn.flow/v1',
  name: 'W8 trial follow-up',
  settings: { reentry: 'after_exit', goal: { event: 'purchase' }, exit_on: [{ event: 'unsubscribed' }] },
  nodes: [
    node('start', 'trigger.event', { event: 'signup' }, 0),
    node('fit', 'condition', { rule: { any: [
      { fact: 'contact', path: '$.properties.plan', operator: 'in', value: ['pro', 'team'] },
      { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
    ] } }, 100),
    node('later', 'delay', { mode: 'duration', duration: 'P3D' }, 200),
    node('paid', 'wait_for_event', { event: 'paid', timeout: 'P2D' }, 300),
    node('thank', 'action.tag', { add: ['paying'] }, 400),
    node('nudge', 'action.webhook', { url: hook, body: { email: '{{ contact.email }}' } }, 400),
    node('skip', 'end', {}, 200),
  ],
  edges: [
    edge('start', 'fit'), edge('fit', 'later', 'true'), edge('fit', 'skip', 'false'), edge('later', 'paid'),
    edge('paid', 'thank', 'event'), edge('paid', 'nudge', 'timeout'),
  ],
});

type FlowEvent = { at: number; type: string; email: string; properties?: Record<string, unknown> };

/** The events the flow reacts to, in time order, on whole hours (the clock moves an hour at a time). */
function flowEvents(contacts: number, start: number, rand: () => number): FlowEvent[] {
  const out: FlowEvent[] = [];
  const hourOf = (t: number) => start + Math.ceil((t - start) / HOUR) * HOUR;
  for (let i = 0; i < contacts; i++) {
    const email = `w8-${i}@example.com`;
    const plan = rand() < 0.4 ? 'pro' : 'free';
    const signup = hourOf(start + HOUR + rand() * SIGNUP_DAYS * DAY);
    out.push({ at: signup, type: 'signup', email, properties: { plan, employees: Math.floor(rand() * 120) } });
    const r = rand();
    // Paid at some point after the delay (inside or after the wait), a purchase (the goal), an unsubscribe (exit).
    if (r < 0.35) out.push({ at: hourOf(signup + (2 + rand() * 5) * DAY), type: 'paid', email });
    else if (r < 0.45) out.push({ at: hourOf(signup + rand() * 6 * DAY), type: 'purchase', email });
    else if (r < 0.5) out.push({ at: hourOf(signup + rand() * 4 * DAY), type: 'unsubscribed', email });
    // Some sign up again later (re-entry after exit).
    if (rand() < 0.1) out.push({ at: hourOf(signup + (6 + rand() * 5) * DAY), type: 'signup', email });
  }
  return out.filter((e) => e.at < start + PERIOD_DAYS * DAY).sort((a, b) => a.at - b.at);
}

async function w1Throughput(engine: EngineProcess, key: string, durationS: number, tag: string): Promise<number> {
  let n = 0;
  const result = await autocannon({
    url: `${engine.url}/v1/events`,
    connections: 20,
    duration: durationS,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: [{
      setupRequest: (req) => {
        const i = n++;
        const enterprise = i % 2 === 0;
        return { ...req, body: JSON.stringify({ type: 'lead.created', contact: { email: `lead-${tag}-${i}@example.com`, properties: { country: enterprise ? 'US' : 'FR', employees: enterprise ? 500 : 10 } } }) };
      },
    }],
  });
  if (result.non2xx > 0) throw new Error(`W1 load: ${result.non2xx} answers were not 2xx`);
  return result['2xx'] / durationS;
}

export async function runW8(opts: { scale?: number; loadS?: number } = {}) {
  const scale = opts.scale ?? 1_000_000;
  const loadS = opts.loadS ?? 15;
  const contacts = Math.max(100, Math.round(scale / 25));
  const receiver = createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/nudge`;
  const { url, db, drop } = await freshDatabase();
  const env = { CAIRN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true' };
  try {
    const { workspaceId: ws, key } = await workspaceWithKey(db);

    // Live: the flow's real runs over the period, on the test clock.
    const live = await startEngine(url, { ...env, CAIRN_CLOCK: 'manual' });
    let start: number;
    let flowId: string;
    const liveT0 = performance.now();
    let flowEventCount: number;
    try {
      start = Math.ceil((await testClock(live.url, key)).getTime() / HOUR) * HOUR;
      flowId = await createPublishedFlow(apiClient(live.url, key), flowDocument(hook));
      const events = flowEvents(contacts, start, prng(8));
      flowEventCount = events.length;
      let i = 0;
      for (let t = start; t <= start + PERIOD_DAYS * DAY; t += HOUR) {
        await advanceTestClock(live.url, key, { to: new Date(t).toISOString() });
        const due: FlowEvent[] = [];
        while (i < events.length && events[i]!.at <= t) due.push(events[i++]!);
        for (let k = 0; k < due.length; k += 1000) {
          const batch = due.slice(k, k + 1000).map((e) => ({ type: e.type, contact: { email: e.email, ...(e.properties ? { properties: e.properties } : {}) } }));
          const res = await postEvents(live.url, key, { events: batch });
          if (res.status !== 202) throw new Error(`ingest: ${res.status}`);
        }
      }
      await advanceTestClock(live.url, key, { by: 'PT1M' });
    } finally {
      await live.stop();
    }
    const liveS = (performance.now() - liveT0) / 1000;
    const from = new Date(start - HOUR);
    const to = new Date(start + PERIOD_DAYS * DAY + 1000);

    // The rest of the history: events no flow reacts to, spread over the period and the contacts.
    const noise = Math.max(0, scale - flowEventCount);
    await db.raw(
      `INSERT INTO events (id, workspace_id, contact_id, type, properties, occurred_at, received_at, source)
       SELECT gen_random_uuid(), ?, c.ids[1 + g % cardinality(c.ids)], CASE WHEN g % 3 = 0 THEN 'email.opened' ELSE 'page.viewed' END,
              jsonb_build_object('path', '/pricing', 'n', g), ?::timestamptz + (random() * ?) * interval '1 millisecond', now(), 'api'
         FROM (SELECT array_agg(id ORDER BY id) AS ids FROM contacts WHERE workspace_id = ?) c, generate_series(1, ?) AS g`,
      [ws, from, to.getTime() - from.getTime() - 1, ws, noise],
    );
    await db.raw('VACUUM ANALYZE events');
    const [{ n: periodEvents }] = (await db.raw(`SELECT count(*)::int AS n FROM events WHERE workspace_id = ? AND occurred_at >= ? AND occurred_at < ?`, [ws, from, to])).rows as { n: number }[];

    // Replay: a fresh engine, so its peak RSS is the backtest's (and the W1 load's).
    const engine = await startEngine(url, env);
    try {
      const api = apiClient(engine.url, key);
      const real = await ok(api.GET('/v1/flows/{id}/stats', { params: { path: { id: flowId }, query: { version: 1 } } }));
      const backtest = async () => {
        const started = await ok(api.POST('/v1/flows/{id}/backtest', { params: { path: { id: flowId } }, body: { from: from.toISOString(), to: to.toISOString(), version: 1 } }));
        return started.id;
      };
      const get = async (bid: string) => ok(api.GET('/v1/flows/{id}/backtests/{bid}', { params: { path: { id: flowId, bid } } }));
      const rssBefore = memoryMb(engine.pid).rss;
      const t0 = performance.now();
      const bid = await backtest();
      const progress: number[] = [];
      let peak = 0;
      let result!: Awaited<ReturnType<typeof get>>;
      await waitFor(async () => {
        peak = Math.max(peak, memoryMb(engine.pid).rss);
        result = await get(bid);
        if (progress[progress.length - 1] !== result.progress) progress.push(Math.round(result.progress * 100) / 100);
        return result.status !== 'running';
      }, 600_000, 200);
      const replayS = (performance.now() - t0) / 1000;
      const mem = memoryMb(engine.pid);

      // Live W1 ingestion alone, then while backtests run back to back (another workspace, the same engine).
      const w1 = await workspaceWithKey(db);
      const w1Api = apiClient(engine.url, w1.key);
      await leadRoutingOwners(w1Api);
      const leadFlow = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'lead-routing', 'flow.json'), 'utf8')) as Record<string, unknown>;
      await createPublishedFlow(w1Api, leadFlow);
      await w1Throughput(engine, w1.key, 3, 'warm');
      const alone = await w1Throughput(engine, w1.key, loadS, 'alone');
      let stop = false;
      let during = 0;
      const backtestsDuring: number[] = [];
      const loop = (async () => {
        while (!stop) {
          const id = await backtest();
          const t = performance.now();
          await waitFor(async () => stop || (await get(id)).status !== 'running', 600_000, 200);
          if (!stop) backtestsDuring.push(Math.round((performance.now() - t) / 100) / 10);
          else await ok(api.POST('/v1/flows/{id}/backtests/{bid}/cancel', { params: { path: { id: flowId, bid: id } } }));
        }
      })();
      await new Promise((r) => setTimeout(r, 1000));
      try {
        during = await w1Throughput(engine, w1.key, loadS, 'during');
      } finally {
        stop = true;
        await loop;
      }

      const fields = ['entered', 'completed', 'failed', 'waiting'] as const;
      const mismatches: string[] = [];
      for (const [id, counts] of Object.entries(real.nodes)) {
        for (const f of fields) if (result.nodes[id]?.[f] !== counts[f]) mismatches.push(`${id}.${f}: real ${counts[f]}, backtest ${result.nodes[id]?.[f]}`);
      }
      for (const f of ['completed', 'converted', 'exited', 'failed', 'active'] as const) {
        if (result.runs?.[f] !== real.runs[f]) mismatches.push(`runs.${f}: real ${real.runs[f]}, backtest ${result.runs?.[f]}`);
      }
      const ratio = Math.round((during / alone) * 100) / 100;
      return {
        workload: 'w8',
        date: new Date().toISOString(),
        machine: machine(),
        scale,
        setup: `${contacts} contacts, ${PERIOD_DAYS} days; ${flowEventCount} events the flow reacts to posted live on the test clock (${Math.round(liveS)} s), ${noise} others written straight; W1 single events: 20 clients × ${loadS} s`,
        events_in_period: periodEvents,
        replay_s: Math.round(replayS * 10) / 10,
        events_per_s: Math.round(periodEvents / replayS),
        processed_events: result.processed_events,
        progress_seen: progress,
        engine_rss_mb: { before: rssBefore, peak_during_replay: peak, after: mem.rss, process_peak: mem.peak },
        w1_single_accepted_per_s: { alone: Math.round(alone), during_backtest: Math.round(during), ratio, backtests_completed_during: backtestsDuring },
        counted: 'events_per_s = events of the period ÷ time from POST …/backtest to status done (polled every 200 ms); processed_events = events the job streamed (those the flow can react to: its trigger, wait, goal and exit types); RSS sampled every 200 ms; W1 = 2xx answers ÷ seconds',
        targets: { under_60_s_per_million: replayS * (1_000_000 / Math.max(1, periodEvents)) < 60, w1_ratio_at_least_0_8: ratio >= 0.8 },
        check: { passed: mismatches.length === 0 && result.status === 'done', counts_equal_real_runs: mismatches.length === 0, mismatches: mismatches.slice(0, 20), real_runs: real.runs, backtest_runs: result.runs, actions: result.actions },
      };
    } finally {
      await engine.stop();
    }
  } finally {
    await drop();
    receiver.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { scale: { type: 'string' } } });
  console.log(JSON.stringify(await runW8({ scale: values.scale ? Number(values.scale) : undefined })));
  process.exit(0);
}
