import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import type { JsonValue } from '@cairn/plugin-sdk';
import type { ActionCall, SandboxResult } from '@cairn/plugin-sdk/host';
import { createLogger } from '../logger.ts';
import { createSandboxHost, type PluginRef, type SandboxHost } from './host.ts';

/**
 * Hostile plugins against the real sandbox (isolated-vm, a real HTTP receiver). Each attack is contained
 * with a clear error, and while it runs a well-behaved plugin of another workspace keeps completing calls
 * on the same host; afterwards the hostile plugin's next call gets a fresh isolate.
 */

const fixture = (name: string) => fileURLToPath(new URL(`../../../plugin-sdk/test/fixtures/${name}.ts`, import.meta.url));
const WS_A = '00000000-0000-7000-8000-00000000000a';
const WS_B = '00000000-0000-7000-8000-00000000000b';
const hostile: PluginRef = { workspaceId: WS_A, pluginId: 'hostile', version: '1.0.0' };
const echo: PluginRef = { workspaceId: WS_B, pluginId: 'echo', version: '1.0.0' };

let server: Server;
let base: string;
let host: SandboxHost;
let bundles: Record<string, string>;
const stores = new Map<string, Map<string, JsonValue>>();
const logLines: string[] = [];

const call = (props: JsonValue, over: Partial<ActionCall> = {}): ActionCall => ({
  props,
  secrets: { token: 'secret-of-a' },
  contact: { id: 'c1', email: 'ana@example.com', properties: { plan: 'pro' }, tags: [] },
  idempotencyKey: 'run1:node1',
  ...over,
});

/** Runs `attack` while another workspace's plugin is called in a loop; all of those must succeed. */
async function contained(attack: () => Promise<SandboxResult<JsonValue>>) {
  let stop = false;
  let completed = 0;
  const failures: unknown[] = [];
  const background = (async () => {
    while (!stop) {
      const r = await host.runAction(echo, 'greet', call({ greeting: 'Hello' }, { secrets: {} }));
      if (r.ok) completed++;
      else failures.push(r.error);
      await new Promise((res) => setTimeout(res, 2));
    }
  })();
  const result = await attack();
  stop = true;
  await background;
  expect(failures).toEqual([]);
  expect(completed).toBeGreaterThan(0);
  return result;
}

const expectLimit = (r: SandboxResult<JsonValue>, limit: string, action: string) => {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error).toMatchObject({ code: 'PLUGIN_LIMIT_EXCEEDED', limit, retryable: false });
  expect(r.error.message).toContain('plugin hostile@1.0.0');
  expect(r.error.message).toContain(`action ${action}`);
  expect(r.error.message).toContain(`${limit} limit`);
};

const expectError = (r: SandboxResult<JsonValue>, code: string, text?: RegExp) => {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (text) expect(r.error.message).toMatch(text);
};

beforeAll(async () => {
  bundles = { hostile: (await buildPlugin(fixture('hostile'))).bundle, echo: (await buildPlugin(fixture('echo'))).bundle };
  server = createServer((req, res) => {
    if (req.url === '/ok') return res.end('fine');
    if (req.url === '/hang') return; // a vendor that never answers
    if (req.url === '/slow') return void setTimeout(() => res.end('slow but fine'), 1200);
    if (req.url === '/to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (req.url === '/to-postgres') return res.writeHead(307, { location: 'http://127.0.0.1:5432/' }).end();
    if (req.url === '/to-elsewhere') return res.writeHead(301, { location: 'http://evil.example.com/x' }).end();
    if (req.url === '/hop') return res.writeHead(302, { location: '/ok' }).end();
    if (req.url === '/huge') {
      // 50 MB, streamed without a content-length so the cap must be enforced while reading.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 50 && res.write(chunk)) sent++;
        if (sent >= 50) res.end();
        else res.once('drain', () => { sent++; pump(); });
      };
      res.on('error', () => {});
      return pump();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) } as never);
  host = createSandboxHost({
    limits: { memoryLimitMb: 32, cpuTimeMs: 400, wallTimeMs: 2000 },
    logger,
    loadBundle: async (ref) => bundles[ref.pluginId]!,
    storeFor: (ref) => {
      const k = `${ref.workspaceId}/${ref.pluginId}`;
      if (!stores.has(k)) stores.set(k, new Map());
      const m = stores.get(k)!;
      return { get: async (key) => m.get(key), set: async (key, v) => void m.set(key, v), delete: async (key) => void m.delete(key) };
    },
    fetch: { testHosts: [`127.0.0.1:${(server.address() as AddressInfo).port}`], maxResponseBytes: 1024 * 1024, timeoutMs: 1500 },
  });
});

afterAll(async () => {
  await host.close();
  // Nothing leaks: the pool is empty and a closed host refuses to load more.
  expect(host.stats().isolates).toBe(0);
  expect(await host.runAction(echo, 'greet', call({ greeting: 'x' }))).toMatchObject({ ok: false, error: { code: 'PLUGIN_LOAD_FAILED' } });
  await new Promise((r) => server.close(r));
});

afterEach(async () => {
  // The host stays healthy: the hostile plugin works again right after each attack (a fresh isolate if needed).
  const r = await host.runAction(hostile, 'ok', call({ n: 1 }));
  expect(r).toEqual({ ok: true, value: { echo: { n: 1 }, key: 'run1:node1' } });
});

describe('hostile plugins are contained', () => {
  it('an infinite loop hits the CPU limit and disposes the isolate', async () => {
    expectLimit(await contained(() => host.runAction(hostile, 'spin', call({}))), 'cpu time', 'spin');
    const before = host.stats().loads;
    expect((await host.runAction(hostile, 'ok', call({}))).ok).toBe(true);
    expect(host.stats().loads).toBe(before + 1);
  });

  it('a call whose synchronous start outruns the attempt on the engine thread is run again off it, once, with its full CPU limit', async () => {
    await host.runAction(hostile, 'ok', call({}));
    const loads = host.stats().loads;
    // The event loop keeps turning while the action computes: it is not held for the action's 200 ms.
    let turns = 0;
    let computing = true;
    const spinLoop = async () => { while (computing) { await new Promise((r) => setImmediate(r)); turns++; } };
    const looping = spinLoop();
    const r = await host.runAction(hostile, 'slow_start', call({}));
    computing = false;
    await looping;
    expect(r).toMatchObject({ ok: true, value: { done: true } });
    // The stopped attempt's log line was refused (its call had ended); the line of the run that answered is kept.
    expect(r.logs?.map((l) => l.message)).toEqual(['starting']);
    expect(turns).toBeGreaterThan(0);
    expect(host.stats().loads).toBe(loads);
    // The next calls of that action start off the engine thread at once, and answer the same.
    expect(await host.runAction(hostile, 'slow_start', call({}))).toMatchObject({ ok: true, value: { done: true }, logs: [{ message: 'starting' }] });
  });

  it('a loop that starts after an await (outside isolated-vm timeout) is still stopped', async () => {
    expectLimit(await contained(() => host.runAction(hostile, 'spin_after_await', call({}))), 'cpu time', 'spin_after_await');
  });

  it('allocating past the memory limit disposes the isolate', async () => {
    const big = createSandboxHost({
      limits: { memoryLimitMb: 16, cpuTimeMs: 20_000, wallTimeMs: 30_000 },
      logger: createLogger('silent'),
      loadBundle: async () => bundles.hostile!,
      storeFor: () => ({ get: async () => undefined, set: async () => {}, delete: async () => {} }),
    });
    try {
      expectLimit(await contained(() => big.runAction(hostile, 'allocate', call({}))), 'memory', 'allocate');
      expect((await big.runAction(hostile, 'ok', call({ again: true }))).ok).toBe(true);
    } finally {
      await big.close();
    }
  });

  it('process and require do not exist', async () => {
    expectError(await contained(() => host.runAction(hostile, 'read_process', call({}))), 'PLUGIN_ERROR', /process is not defined/);
    expectError(await host.runAction(hostile, 'read_require', call({})), 'PLUGIN_ERROR', /require is not defined/);
  });

  it('globalThis.constructor escapes and Function("return this")() reach only the bare isolate global', async () => {
    const a = await contained(() => host.runAction(hostile, 'constructor_escape', call({})));
    expect(a).toEqual({ ok: true, value: { hasProcess: 'undefined', hasRequire: 'undefined', keys: ['__cairn_entry', '__cairn_plugin'] } });
    const b = await host.runAction(hostile, 'function_this', call({}));
    // No host reference is left on the global object: the bootstrap took it into its closure.
    expect(b).toEqual({ ok: true, value: { process: 'undefined', require: 'undefined', host: 'undefined', fetch: 'undefined' } });
  });

  it('mutating objects the host passed in fails inside and leaves the host copies unchanged', async () => {
    const input = call({ nested: { value: 1 } });
    const snapshot = structuredClone(input);
    const r = await contained(() => host.runAction(hostile, 'mutate_input', input));
    expect(r).toEqual({ ok: true, value: { attempts: ['refused', 'refused', 'refused', 'refused'], email: 'ana@example.com' } });
    expect(input).toEqual(snapshot);
  });

  it('fetch to a host not in allowedHosts is refused', async () => {
    expectError(await contained(() => host.runAction(hostile, 'fetch', call({ url: 'https://api.github.com/' }))), 'FETCH_HOST_NOT_ALLOWED', /api\.github\.com/);
  });

  it('fetch to 127.0.0.1:5432 is refused although 127.0.0.1 is allowed (the test override is per host:port)', async () => {
    expectError(await contained(() => host.runAction(hostile, 'fetch', call({ url: 'http://127.0.0.1:5432/' }))), 'FETCH_PRIVATE_ADDRESS', /127\.0\.0\.1/);
    expectError(await host.runAction(hostile, 'fetch', call({ url: 'http://localhost:5432/' })), 'FETCH_PRIVATE_ADDRESS');
  });

  it('fetch to 169.254.169.254 (cloud metadata) is refused', async () => {
    expectError(await contained(() => host.runAction(hostile, 'fetch', call({ url: 'http://169.254.169.254/latest/meta-data/' }))), 'FETCH_PRIVATE_ADDRESS', /169\.254\.169\.254/);
  });

  it('a redirect leading to a refused destination is refused at that hop', async () => {
    expectError(await contained(() => host.runAction(hostile, 'fetch', call({ url: `${base}/to-metadata` }))), 'FETCH_PRIVATE_ADDRESS', /169\.254/);
    expectError(await host.runAction(hostile, 'fetch', call({ url: `${base}/to-postgres` })), 'FETCH_PRIVATE_ADDRESS', /5432/);
    expectError(await host.runAction(hostile, 'fetch', call({ url: `${base}/to-elsewhere` })), 'FETCH_HOST_NOT_ALLOWED', /evil\.example\.com.*redirect hop 1/);
    // An allowed redirect is followed.
    expect(await host.runAction(hostile, 'fetch', call({ url: `${base}/hop` }))).toMatchObject({ ok: true, value: { status: 200, body: 'fine', url: `${base}/ok` } });
  });

  it('a 50 MB response is cut off at the size cap', async () => {
    expectError(await contained(() => host.runAction(hostile, 'fetch', call({ url: `${base}/huge` }))), 'FETCH_RESPONSE_TOO_LARGE', /1048576 byte limit/);
  });

  it('a plugin sees only its own workspace secrets, and other workspaces run in other isolates', async () => {
    const a = await contained(() => host.runAction(hostile, 'secrets', call({})));
    // The action returns each value reversed (an output carrying the value itself is redacted).
    expect(a).toEqual({ ok: true, value: { secrets: { token: 'a-fo-terces' } } });
    const otherWs = { ...hostile, workspaceId: WS_B };
    const b = await host.runAction(otherWs, 'secrets', call({}, { secrets: { token: 'secret-of-b' } }));
    expect(b).toEqual({ ok: true, value: { secrets: { token: 'b-fo-terces' } } });
    // Stores are per plugin and workspace too.
    await host.runAction(hostile, 'store_roundtrip', call({}));
    const again = await host.runAction(otherWs, 'store_roundtrip', call({}));
    expect(again).toMatchObject({ ok: true, value: { before: 0, after: 1 } });
  });

  it('a vendor that hangs past the wall limit fails the fetch with a retryable FETCH_TIMEOUT; the isolate is not reset', async () => {
    // The default fetch timeout (10 s) is longer than the call's wall limit (2 s): the fetch must give up first.
    const slow = createSandboxHost({
      limits: { memoryLimitMb: 32, cpuTimeMs: 400, wallTimeMs: 2000 },
      logger: createLogger('silent'),
      loadBundle: async (ref) => bundles[ref.pluginId]!,
      storeFor: () => ({ get: async () => undefined, set: async () => undefined, delete: async () => undefined }),
      fetch: { testHosts: [new URL(base).host] },
    });
    try {
      await slow.runAction(hostile, 'ok', call({}));
      const r = await slow.runAction(hostile, 'fetch', call({ url: `${base}/hang` }));
      expect(r).toMatchObject({ ok: false, error: { code: 'FETCH_TIMEOUT', retryable: true } });
      expect(await slow.runAction(hostile, 'ok', call({}))).toMatchObject({ ok: true });
      expect(slow.stats().loads).toBe(1);
    } finally {
      await slow.close();
    }
  });

  it('throwing non-Error values becomes a plain error object', async () => {
    expectError(await contained(() => host.runAction(hostile, 'throw_string', call({}))), 'PLUGIN_THREW_NON_ERROR', /"just a string"/);
    expectError(await host.runAction(hostile, 'throw_null', call({})), 'PLUGIN_THREW_NON_ERROR', /null/);
    expectError(await host.runAction(hostile, 'throw_object', call({})), 'PLUGIN_THREW_NON_ERROR', /weird/);
    const typed = await host.runAction(hostile, 'throw_plugin_error', call({}));
    expect(typed).toMatchObject({ ok: false, error: { code: 'VENDOR_DOWN', retryable: true } });
  });

  it('a never-settling promise hits the wall-clock deadline', async () => {
    const started = Date.now();
    expectLimit(await contained(() => host.runAction(hostile, 'never_settles', call({}))), 'wall time', 'never_settles');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("an action's own timeoutMs sets its wall limit, capped by the engine's", async () => {
    let started = Date.now();
    const soon = await host.runAction(hostile, 'never_settles_soon', call({}));
    expectLimit(soon, 'wall time', 'never_settles_soon');
    expect(!soon.ok && soon.error.message).toContain('(500 ms)');
    expect(Date.now() - started).toBeLessThan(1500);
    started = Date.now();
    const late = await host.runAction(hostile, 'never_settles_late', call({}));
    expect(!late.ok && late.error.message).toContain('(2000 ms)'); // the engine's limit, not 600,000
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it('ctx.log reaches the host logger with plugin and call fields, ctx.store persists', async () => {
    const r = await host.runAction(hostile, 'store_roundtrip', call({ by: 'test' }, { meta: { runId: 'r-77', nodeId: 'n-3' } }));
    expect(r.ok).toBe(true);
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.runId === 'r-77');
    expect(line).toMatchObject({ msg: 'counted', pluginId: 'hostile', workspaceId: WS_A, nodeId: 'n-3', source: 'plugin' });
  });
});

describe('calls that share an isolate with an offender', () => {
  it('a wall-time breach fails only that call: a call in flight in the same isolate completes, nothing reloads', async () => {
    await host.runAction(hostile, 'ok', call({}));
    const loads = host.stats().loads;
    const waiting = host.runAction(hostile, 'never_settles', call({}));
    await new Promise((r) => setTimeout(r, 1000));
    // Still fetching when the other call's 2 s limit passes (the vendor answers after 1.2 s).
    const fetching = host.runAction(hostile, 'fetch', call({ url: `${base}/slow` }));
    expectLimit(await waiting, 'wall time', 'never_settles');
    expect(await fetching).toMatchObject({ ok: true, value: { status: 200, body: 'slow but fine' } });
    expect(host.stats().loads).toBe(loads);
  });

  it('a call that keeps calling the host after its wall limit ended it is stopped: the isolate is replaced', async () => {
    await host.runAction(hostile, 'ok', call({}));
    const loads = host.stats().loads;
    expectLimit(await host.runAction(hostile, 'keeps_calling', call({})), 'wall time', 'keeps_calling');
    await new Promise((r) => setTimeout(r, 1500)); // past the abandoned call's grace
    expect(await host.runAction(hostile, 'ok', call({ n: 2 }))).toMatchObject({ ok: true });
    expect(host.stats().loads).toBe(loads + 1);
  });

  it('an innocent concurrent call of the same plugin and workspace is interrupted as retryable, not blamed', async () => {
    const [spin, innocent] = await Promise.all([
      host.runAction(hostile, 'spin_after_await', call({})),
      host.runAction(hostile, 'never_settles', call({})),
    ]);
    expectLimit(spin, 'cpu time', 'spin_after_await');
    expect(innocent).toMatchObject({ ok: false, error: { code: 'PLUGIN_SANDBOX_RESET', retryable: true } });
    if (!innocent.ok) expect(innocent.error.message).toMatch(/another call of this plugin exceeded its cpu time limit/);
  });
});
