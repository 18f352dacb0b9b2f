/**
 * W3 plugin actions in the sandbox (BENCHMARKS.md): a plugin action that formats a message and calls
 * `ctx.http.fetch` to a local HTTP receiver, through the engine's sandbox host (isolated-vm), against the
 * same action code run directly in the host process with the same fetch guard. Reports:
 * - invocations/s (16 calls in flight) in the sandbox and directly;
 * - per-call latency p50/p99 (one call at a time) for the fetching action and for a format-only action, and
 *   the sandbox overhead = sandbox − direct at p50 and p99 (the format-only figure is the boundary cost
 *   itself, without HTTP noise). Sandbox and direct calls alternate, so both see the same machine (a load
 *   that comes and goes, GC) instead of one block each; garbage is collected before each measured block;
 *   10,000 format-only calls per run (2,000 posts);
 * - cold start: a fresh isolate + context + bootstrap + bundle until the plugin is ready, and to the end of a
 *   first call;
 * - memory per warm isolate (V8 heap of the isolate, and process RSS growth per isolate over 20 isolates).
 * Medians of 3 runs with the spread (min–max). Checks that every call succeeded and the receiver got each post.
 *
 * Run alone: `node --no-node-snapshot --import tsx bench/w3-sandbox.ts [--scale 0.2]` prints one JSON line.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildPlugin } from '../plugin-sdk/src/build/build.ts';
import { guardedFetch, PluginIsolate, type SandboxLimits } from '../plugin-sdk/src/host/index.ts';
import type { ActionContext, JsonValue, Plugin } from '../plugin-sdk/src/index.ts';
import { createLogger } from '../engine/src/logger.ts';
import { createSandboxHost, type PluginRef } from '../engine/src/sandbox/host.ts';
import { machine, summarize } from './lib.ts';

const ENTRY = fileURLToPath(new URL('../plugin-sdk/test/fixtures/notify.ts', import.meta.url));
const LIMITS: SandboxLimits = { memoryLimitMb: 64, cpuTimeMs: 1000, wallTimeMs: 10_000 };
const TEMPLATE = 'Hi {name}, your {plan} plan is ready. We sent the details to {email}.';
const CONTACT = { id: 'c1', external_id: null, email: 'ana@example.com', properties: { first_name: 'Ana', plan: 'pro' }, tags: [] };

/** A full GC before a measured block, so garbage of the previous block is not collected inside this one. */
const collectGarbage: () => void = (() => {
  if (typeof global.gc === 'function') return global.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

type Call = (key: 'post' | 'format', props: Record<string, string>, n: number) => Promise<JsonValue>;

/** Latencies of `n` calls of each path, one call at a time, sandbox and direct alternating. */
async function pairedLatencies(sandbox: Call, direct: Call, key: 'post' | 'format', props: Record<string, string>, n: number): Promise<{ sandbox: number[]; direct: number[] }> {
  const out = { sandbox: [] as number[], direct: [] as number[] };
  collectGarbage();
  for (let i = 0; i < n; i++) {
    let t = process.hrtime.bigint();
    await sandbox(key, props, i);
    out.sandbox.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    await direct(key, props, i);
    out.direct.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

async function throughput(call: Call, props: Record<string, string>, ms: number, inFlight = 16): Promise<number> {
  let done = 0;
  const end = Date.now() + ms;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (Date.now() < end) {
      await call('post', props, done);
      done++;
    }
  }));
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function runW3(opts: { scale?: number } = {}): Promise<Record<string, unknown>> {
  const scale = opts.scale ?? 1;
  const calls = Math.max(200, Math.round(2000 * scale));
  const formatCalls = 5 * calls;
  const seconds = Math.max(1, Math.round(3 * scale));

  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const postProps = { url: `http://${target}/hook`, template: TEMPLATE };
  const formatProps = { template: TEMPLATE };
  const fetchPolicy = { allowedHosts: [target], privateHosts: [target], timeoutMs: 10_000, maxResponseBytes: 1 << 20, maxRedirects: 5 };

  const built = await buildPlugin(ENTRY);
  const host = createSandboxHost({
    limits: LIMITS,
    logger: createLogger('silent'),
    loadBundle: async () => built.bundle,
    storeFor: () => ({ get: async () => undefined, set: async () => {}, delete: async () => {} }),
    fetch: { testHosts: [target] },
  });
  const ref: PluginRef = { workspaceId: 'w3', pluginId: 'notify', version: '1.0.0' };
  let failures = 0;
  const sandboxCall: Call = async (key, props, n) => {
    const r = await host.runAction(ref, key, { props, secrets: {}, contact: CONTACT, idempotencyKey: `run-${n}:node` });
    if (!r.ok) failures++;
    return r.ok ? r.value : null;
  };

  // The same action code, imported and called in the host: same fetch guard, no isolate.
  const plugin = (await import(pathToFileURL(ENTRY).href)).default as Plugin;
  const directCtx = (n: number): ActionContext => ({
    http: {
      fetch: async (url, init = {}) => {
        const r = await guardedFetch(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null }, fetchPolicy);
        return { status: r.status, ok: r.status < 300, headers: r.headers, url: r.url, text: async () => r.body, json: async () => JSON.parse(r.body) };
      },
    },
    secrets: {},
    store: { get: async () => undefined, set: async () => {}, delete: async () => {} },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    contact: structuredClone(CONTACT),
    idempotencyKey: `run-${n}:node`,
    auth: { accessToken: undefined },
  });
  const directCall: Call = async (key, props, n) => {
    const action = plugin.actions.find((a) => a.key === key)!;
    return JSON.parse(JSON.stringify(await action.run(directCtx(n), structuredClone(props) as never))) as JsonValue;
  };

  // Warm both paths up.
  for (let i = 0; i < 200; i++) {
    await sandboxCall('post', postProps, i);
    await directCall('post', postProps, i);
    await sandboxCall('format', formatProps, i);
    await directCall('format', formatProps, i);
  }

  const runs = { sandboxRate: [] as number[], directRate: [] as number[], postSandboxP50: [] as number[], postSandboxP99: [] as number[], postDirectP50: [] as number[], postDirectP99: [] as number[], fmtSandboxP50: [] as number[], fmtSandboxP99: [] as number[], fmtDirectP50: [] as number[], fmtDirectP99: [] as number[], postOverheadP50: [] as number[], postOverheadP99: [] as number[], fmtOverheadP50: [] as number[], fmtOverheadP99: [] as number[], coldReady: [] as number[], coldFirstCall: [] as number[] };
  const receivedBefore = received;
  let posts = 0;
  for (let run = 0; run < 3; run++) {
    const before = received;
    runs.sandboxRate.push(await throughput(sandboxCall, postProps, seconds * 1000));
    runs.directRate.push(await throughput(directCall, postProps, seconds * 1000));
    posts += received - before;
    const { sandbox: ps, direct: pd } = await pairedLatencies(sandboxCall, directCall, 'post', postProps, calls);
    const { sandbox: fs, direct: fd } = await pairedLatencies(sandboxCall, directCall, 'format', formatProps, formatCalls);
    posts += 2 * calls;
    runs.postSandboxP50.push(percentile(ps, 50)); runs.postSandboxP99.push(percentile(ps, 99));
    runs.postDirectP50.push(percentile(pd, 50)); runs.postDirectP99.push(percentile(pd, 99));
    runs.fmtSandboxP50.push(percentile(fs, 50)); runs.fmtSandboxP99.push(percentile(fs, 99));
    runs.fmtDirectP50.push(percentile(fd, 50)); runs.fmtDirectP99.push(percentile(fd, 99));
    runs.postOverheadP50.push(percentile(ps, 50) - percentile(pd, 50)); runs.postOverheadP99.push(percentile(ps, 99) - percentile(pd, 99));
    runs.fmtOverheadP50.push(percentile(fs, 50) - percentile(fd, 50)); runs.fmtOverheadP99.push(percentile(fs, 99) - percentile(fd, 99));

    // Cold start: a fresh isolate with the bundle, ready to call; then to the end of its first call.
    const colds: number[] = [];
    const firsts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = process.hrtime.bigint();
      const iso = await PluginIsolate.load(built.bundle, LIMITS, { store: { get: async () => undefined, set: async () => {}, delete: async () => {} }, log: () => {}, fetch: { privateHosts: [], timeoutMs: 1000, maxResponseBytes: 1 << 20, maxRedirects: 0 } });
      const t1 = process.hrtime.bigint();
      const r = await iso.runAction('format', { props: formatProps, secrets: {}, contact: CONTACT, idempotencyKey: 'cold:1' });
      const t2 = process.hrtime.bigint();
      if (!r.ok) failures++;
      iso.dispose();
      colds.push(Number(t1 - t0) / 1e6);
      firsts.push(Number(t2 - t0) / 1e6);
    }
    runs.coldReady.push(percentile(colds, 50));
    runs.coldFirstCall.push(percentile(firsts, 50));
  }
  const lost = received - receivedBefore - posts;

  // Memory: 20 warm isolates (one per workspace), heap per isolate and RSS growth per isolate.
  collectGarbage();
  const rssBefore = process.memoryUsage().rss;
  const isolates: PluginIsolate[] = [];
  for (let i = 0; i < 20; i++) {
    const iso = await host.warm({ ...ref, workspaceId: `mem-${i}` });
    await iso.runAction('format', { props: formatProps, secrets: {}, contact: CONTACT, idempotencyKey: 'm:1' });
    isolates.push(iso);
  }
  const heaps = await Promise.all(isolates.map((i) => i.heap()));
  const rssPerIsolateMb = (process.memoryUsage().rss - rssBefore) / 20 / 2 ** 20;
  const heapUsedMb = heaps.map((h) => (h.usedBytes + h.externalBytes) / 2 ** 20);
  const heapTotalMb = heaps.map((h) => h.totalBytes / 2 ** 20);

  await host.close();
  await new Promise((r) => server.close(r));
  const ms = (xs: number[]) => summarize(xs, 4);
  // Met only if every run's p50 is under the target, not just the median run's.
  const fmtP50 = Math.max(...runs.fmtOverheadP50);
  const coldMedian = summarize(runs.coldReady, 2).median;
  return {
    workload: 'w3_sandbox',
    scale,
    runs: 3,
    latency_calls_per_run: { post: calls, format_only: formatCalls },
    throughput_seconds_per_run: seconds,
    invocations_per_s_sandbox: summarize(runs.sandboxRate, 0),
    invocations_per_s_direct: summarize(runs.directRate, 0),
    post_latency_ms: {
      sandbox_p50: ms(runs.postSandboxP50), sandbox_p99: ms(runs.postSandboxP99),
      direct_p50: ms(runs.postDirectP50), direct_p99: ms(runs.postDirectP99),
      overhead_p50: ms(runs.postOverheadP50), overhead_p99: ms(runs.postOverheadP99),
    },
    format_only_latency_ms: {
      sandbox_p50: ms(runs.fmtSandboxP50), sandbox_p99: ms(runs.fmtSandboxP99),
      direct_p50: ms(runs.fmtDirectP50), direct_p99: ms(runs.fmtDirectP99),
      overhead_p50: ms(runs.fmtOverheadP50), overhead_p99: ms(runs.fmtOverheadP99),
    },
    cold_start_ms: { isolate_and_bundle_ready: summarize(runs.coldReady, 2), to_end_of_first_call: summarize(runs.coldFirstCall, 2) },
    warm_isolate_memory_mb: {
      heap_used_plus_external: summarize(heapUsedMb, 2).median,
      heap_total: summarize(heapTotalMb, 2).median,
      process_rss_growth_per_isolate: Math.round(rssPerIsolateMb * 100) / 100,
      isolates: 20,
      memory_limit_mb: LIMITS.memoryLimitMb,
    },
    targets: { warm_overhead_p50_ms: 0.1, warm_overhead_p50_met: fmtP50 < 0.1, cold_start_ms: 10, cold_start_met: coldMedian < 10 },
    check: { failed_calls: failures, posts_lost: lost, passed: failures === 0 && lost === 0 },
    bundle_bytes: built.bundle.length,
    machine: machine(),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--scale');
  const line = await runW3({ scale: i > 0 ? Number(process.argv[i + 1]) : undefined });
  process.stdout.write(`${JSON.stringify(line)}\n`);
  if ((line.check as { passed: boolean }).passed !== true) process.exitCode = 1;
}
