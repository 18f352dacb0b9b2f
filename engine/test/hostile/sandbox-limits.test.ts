import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { guardedFetch, type ActionCall, type FetchPolicy } from '@cairn/plugin-sdk/host';
import type { JsonValue } from '@cairn/plugin-sdk';
import { createLogger } from '../../src/logger.ts';
import { createSandboxHost, type PluginRef, type SandboxFetchOptions, type SandboxHost } from '../../src/sandbox/host.ts';

/**
 * Issue 8, items 3, 8 and the plugin parts of 9: memory a plugin could hold outside its isolate's heap limit
 * (WebAssembly, buffered fetch responses), credential values in its log lines, and IPv4 addresses hidden in
 * IPv6 ones. Real isolates, a real HTTP server.
 */

const WS_A = '00000000-0000-7000-8000-00000000000a';
const WS_B = '00000000-0000-7000-8000-00000000000b';
const greedy: PluginRef = { workspaceId: WS_A, pluginId: 'greedy', version: '1.0.0' };
const MiB = 1024 * 1024;

let bundle: string;
let server: Server;
let port: number;
let base: string;
let open = 0;
let peakOpen = 0;
const hosts: SandboxHost[] = [];
const logLines: string[] = [];

const call = (props: JsonValue, secrets: Record<string, string> = {}): ActionCall => ({
  props, secrets, contact: { id: 'c1', properties: {}, tags: [] }, idempotencyKey: 'run1:node1',
});

function host(fetch: SandboxFetchOptions = {}, memoryLimitMb = 64): SandboxHost {
  const h = createSandboxHost({
    limits: { memoryLimitMb, cpuTimeMs: 2000, wallTimeMs: 20_000 },
    logger: createLogger('debug', { write: (line: string) => void logLines.push(line) } as never),
    loadBundle: async () => bundle,
    storeFor: () => ({ get: async () => undefined, set: async () => {}, delete: async () => {} }),
    fetch: { testHosts: [`127.0.0.1:${port}`], ...fetch },
  });
  hosts.push(h);
  return h;
}

/** Runs `fn` while sampling RSS every 10 ms; returns its result and the largest RSS growth seen. */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; rssGrowthMb: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, rssGrowthMb: (peak - start) / MiB };
  } finally {
    clearInterval(timer);
  }
}

beforeAll(async () => {
  bundle = (await buildPlugin(fileURLToPath(new URL('./fixtures/greedy.ts', import.meta.url)))).bundle;
  const five = Buffer.alloc(5 * MiB, 'x');
  server = createServer((req, res) => {
    open++;
    peakOpen = Math.max(peakOpen, open);
    res.on('close', () => open--);
    res.on('error', () => {});
    // /slow/<MiB>: sends that many MiB, then holds the response open 300 ms before ending it.
    const slow = /^\/slow\/(\d+)$/.exec(req.url ?? '');
    if (slow) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(Number(slow[1]) * MiB, 'y'));
      setTimeout(() => res.end(), 300).unref();
      return;
    }
    if (req.url === '/five') {
      // Half now, half a moment later: the responses of parallel fetches overlap in memory.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(five.length) });
      res.write(five.subarray(0, five.length / 2));
      setTimeout(() => res.end(five.subarray(five.length / 2)), 50).unref();
      return;
    }
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const h of hosts) await h.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('memory outside the isolate heap', () => {
  it('WebAssembly does not exist in a plugin isolate, so WebAssembly.Memory cannot hold engine memory', async () => {
    const h = host();
    const { result, rssGrowthMb } = await measured(async () => [await h.runAction(greedy, 'wasm_memory', call({})), await h.runAction(greedy, 'wasm_memory', call({}))]);
    // Before: each call kept a 512 MiB WebAssembly.Memory alive in the isolate (RSS +1 GB for two calls).
    expect(result).toEqual([{ ok: true, value: { webassembly: 'undefined' } }, { ok: true, value: { webassembly: 'undefined' } }]);
    expect(rssGrowthMb).toBeLessThan(100);
  });

  it('100 parallel 5 MiB fetches from one call: at most 4 run at once, the call fails with a clear budget error, RSS stays bounded', async () => {
    const h = host({ maxResponseBytes: 5 * MiB });
    peakOpen = 0;
    const { result, rssGrowthMb } = await measured(() => h.runAction(greedy, 'fetch_many', call({ url: `${base}/five`, n: 100 })));
    expect(result).toMatchObject({ ok: false, error: { code: 'FETCH_CALL_BUDGET_EXCEEDED', retryable: false } });
    // Whichever per-call cap trips first: 16 MiB held at once, or 32 MiB received in total by the call.
    if (!result.ok) expect(result.error.message).toMatch(/more than 16777216 bytes at once \(at most 4 fetches run in parallel\)|would exceed 33554432 bytes in total/);
    // Before: 100 connections at once and RSS +1.2 GB.
    expect(peakOpen).toBeLessThanOrEqual(4);
    expect(rssGrowthMb).toBeLessThan(200);
    // Every slot and byte comes back to the engine's budget once the aborted fetches have wound down.
    await vi.waitFor(() => expect(h.stats().fetches).toEqual({ active: 0, waiting: 0, bytes: 0 }));
  });

  it('fetches within the per-call caps queue for a slot and all complete', async () => {
    const h = host({ perCall: { maxConcurrent: 2, maxInFlightBytes: 8 * MiB } });
    peakOpen = 0;
    const r = await h.runAction(greedy, 'fetch_many', call({ url: `${base}/slow/1`, n: 6 }));
    expect(r).toEqual({ ok: true, value: { fetched: 6, bytes: 6 * MiB } });
    expect(peakOpen).toBe(2);
  });

  it('the engine-wide caps hold across workspaces: slots are shared, and bytes over the cap fail as retryable', async () => {
    const slots = host({ perEngine: { maxConcurrent: 2, maxInFlightBytes: 64 * MiB } });
    peakOpen = 0;
    const both = await Promise.all([WS_A, WS_B].map((workspaceId) => slots.runAction({ ...greedy, workspaceId }, 'fetch_many', call({ url: `${base}/slow/1`, n: 3 }))));
    expect(both).toEqual([{ ok: true, value: { fetched: 3, bytes: 3 * MiB } }, { ok: true, value: { fetched: 3, bytes: 3 * MiB } }]);
    expect(peakOpen).toBe(2);

    const bytes = host({ perEngine: { maxConcurrent: 8, maxInFlightBytes: 4 * MiB } });
    const results = await Promise.all([WS_A, WS_B].map((workspaceId) => bytes.runAction({ ...greedy, workspaceId }, 'fetch_many', call({ url: `${base}/slow/3`, n: 1 }))));
    const busy = results.filter((r) => !r.ok);
    expect(busy).toHaveLength(1);
    expect(busy[0]).toMatchObject({ ok: false, error: { code: 'FETCH_ENGINE_BUSY', retryable: true } });
    expect(results.filter((r) => r.ok)).toEqual([{ ok: true, value: { fetched: 1, bytes: 3 * MiB } }]);
    await vi.waitFor(() => expect(bytes.stats().fetches).toEqual({ active: 0, waiting: 0, bytes: 0 }));
  });
});

describe('plugin log lines', () => {
  it('ctx.log message and fields (values and keys, nested) carry no credential value', async () => {
    const token = 'sk_live_9f8e7d6c5b4a';
    logLines.length = 0;
    const r = await host().runAction(greedy, 'log_secret', call({}, { token }));
    expect(r).toMatchObject({ ok: true, value: { logged: true } });
    // The lines kept for the run's step are redacted the same way as the engine log.
    expect(JSON.stringify(r)).not.toContain(token);
    expect(r).toMatchObject({ logs: [{ source: 'ctx.log', message: 'calling with [REDACTED]', fields: { token: '[REDACTED]', '[REDACTED]': 'as a key' } }] });
    const line = logLines.find((l) => l.includes('calling with'));
    expect(line).toBeDefined();
    expect(line).not.toContain(token);
    expect(JSON.parse(line!)).toMatchObject({
      msg: 'calling with [REDACTED]', source: 'plugin', pluginId: 'greedy',
      fields: { token: '[REDACTED]', nested: { header: 'Bearer [REDACTED]', list: ['[REDACTED]'] }, '[REDACTED]': 'as a key' },
    });
  });
});

describe('the network guard and IPv4 inside IPv6', () => {
  const policy = (over: Partial<FetchPolicy> = {}): FetchPolicy => ({
    allowedHosts: ['*'], privateHosts: [], timeoutMs: 2000, maxResponseBytes: MiB, maxRedirects: 0, ...over,
  });
  const get = { method: 'GET', headers: {}, body: null };

  it('refuses loopback written as IPv4-mapped (::ffff:0:0/96) or IPv4-compatible (::/96) IPv6', async () => {
    for (const host of ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::127.0.0.1]', '[::7f00:1]', '[::ffff:10.0.0.1]', '[::a00:1]']) {
      await expect(guardedFetch(`http://${host}:${port}/`, get, policy())).rejects.toMatchObject({ code: 'FETCH_PRIVATE_ADDRESS' });
    }
  });

  it('with the development switch on, link-local metadata stays refused in its mapped form', async () => {
    await expect(guardedFetch('http://[::ffff:169.254.169.254]/latest/meta-data/', get, policy({ allowPrivate: true }))).rejects.toMatchObject({ code: 'FETCH_PRIVATE_ADDRESS' });
    await expect(guardedFetch('http://[::ffff:a9fe:a9fe]/', get, policy({ allowPrivate: true }))).rejects.toMatchObject({ code: 'FETCH_PRIVATE_ADDRESS' });
    // The switch still opens plain loopback (what it is for).
    await expect(guardedFetch(`${base}/`, get, policy({ allowPrivate: true }))).resolves.toMatchObject({ status: 200, body: 'ok' });
  });
});
