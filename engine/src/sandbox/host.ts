import {
  DEFAULT_CALL_FETCH_CAPS, DEFAULT_ENGINE_FETCH_CAPS, FetchBudget, PluginIsolate, type ActionCall, type FetchCaps, type HookCall, type HookName, type HostServices, type PluginStoreBackend, type SandboxLimits, type SandboxResult,
} from '@cairn/plugin-sdk/host';
import type { JsonValue, TriggerEvent, TriggerRequest } from '@cairn/plugin-sdk';
import type { Logger } from '../logger.ts';

/**
 * The engine's sandbox host: a pool of plugin isolates, one per (workspace, plugin, version), loaded on first
 * use and kept warm. An isolate is never shared between workspaces or plugin versions, so a plugin only ever
 * sees its own workspace's data. A call that breaches a limit leaves a disposed isolate behind; the next call
 * sees it unhealthy and loads a fresh one. The sandbox core itself (`PluginIsolate`) lives in the SDK so that
 * `@cairn/plugin-sdk/testing` runs plugins in exactly this sandbox.
 */

export interface PluginRef {
  workspaceId: string;
  pluginId: string;
  version: string;
}

export interface SandboxFetchOptions {
  /** `host:port` destinations plugins may reach even though they are private/loopback (tests, local receivers). */
  testHosts?: readonly string[];
  /** Blanket development switch (`CAIRN_SANDBOX_ALLOW_PRIVATE_HOSTS`); link-local and `deniedTargets` stay refused. */
  allowPrivate?: boolean;
  /** The hosts a workspace's admin added to every plugin's allowedHosts (development; no private-address exemption). */
  workspaceHosts?: (workspaceId: string) => Promise<readonly string[]>;
  /** `address:port` never reachable (the engine's own database). */
  deniedTargets?: readonly string[];
  timeoutMs?: number;
  maxResponseBytes?: number;
  maxRedirects?: number;
  /** One call's fetches: how many run at once and how many response bytes they hold together. */
  perCall?: FetchCaps;
  /** Every fetch of every isolate of this host together. */
  perEngine?: FetchCaps;
}

export interface SandboxHostOptions {
  limits: SandboxLimits;
  logger: Logger;
  loadBundle(ref: PluginRef): Promise<string>;
  storeFor(ref: PluginRef): PluginStoreBackend;
  fetch?: SandboxFetchOptions;
  /** Least recently used idle isolates beyond this are disposed. */
  maxIsolates?: number;
}

export interface SandboxHost {
  runAction(ref: PluginRef, key: string, call: ActionCall): Promise<SandboxResult<JsonValue>>;
  runTrigger(ref: PluginRef, key: string, request: TriggerRequest, secrets: Record<string, string>): Promise<SandboxResult<TriggerEvent[]>>;
  /** A trigger hook (`poll`, `subscribe`, `unsubscribe`) or the test-connection function (`auth.test`). */
  runHook(ref: PluginRef, hook: HookName, key: string, call: HookCall): Promise<SandboxResult<JsonValue>>;
  /** Loads (or returns the warm) isolate; exposed for cold-start measurement and pre-warming. */
  warm(ref: PluginRef): Promise<PluginIsolate>;
  stats(): { isolates: number; loads: number; fetches: { active: number; waiting: number; bytes: number } };
  close(): Promise<void>;
}

const keyOf = (r: PluginRef) => `${r.workspaceId}/${r.pluginId}@${r.version}`;

export function createSandboxHost(opts: SandboxHostOptions): SandboxHost {
  const pool = new Map<string, Promise<PluginIsolate>>();
  // Loaded isolates by key: the warm path skips the promise hops of `get` (it is on every call).
  const ready = new Map<string, PluginIsolate>();
  const maxIsolates = opts.maxIsolates ?? 256;
  let loads = 0;
  let closed = false;
  const f = opts.fetch ?? {};
  const fetchBudget = new FetchBudget(f.perEngine ?? DEFAULT_ENGINE_FETCH_CAPS, 'engine');

  const servicesFor = (ref: PluginRef): HostServices => {
    const log = opts.logger.child({ workspaceId: ref.workspaceId, pluginId: ref.pluginId, pluginVersion: ref.version });
    return {
      store: opts.storeFor(ref),
      log: (level, message, fields, meta) => log[level]({ ...meta, ...(fields ? { fields } : {}), source: 'plugin' }, message),
      fetch: {
        privateHosts: [],
        testHosts: f.testHosts ?? [],
        allowPrivate: f.allowPrivate ?? false,
        deniedTargets: f.deniedTargets ?? [],
        ...(f.workspaceHosts ? { extraAllowedHosts: () => f.workspaceHosts!(ref.workspaceId) } : {}),
        timeoutMs: f.timeoutMs ?? 10_000,
        maxResponseBytes: f.maxResponseBytes ?? 5 * 1024 * 1024,
        maxRedirects: f.maxRedirects ?? 5,
        perCall: f.perCall ?? DEFAULT_CALL_FETCH_CAPS,
        engine: fetchBudget,
      },
    };
  };

  const evict = () => {
    if (pool.size <= maxIsolates) return;
    // Map iteration order is insertion order; `get` re-inserts on use, so the first entries are the least recent.
    for (const [k, p] of pool) {
      if (pool.size <= maxIsolates) break;
      pool.delete(k);
      ready.delete(k);
      void p.then((iso) => (iso.activeCalls === 0 ? iso.dispose() : undefined), () => undefined);
    }
  };

  const get = async (ref: PluginRef): Promise<PluginIsolate> => {
    if (closed) throw new Error('the sandbox host is closed');
    const k = keyOf(ref);
    const existing = pool.get(k);
    if (existing) {
      const iso = await existing.catch(() => null);
      if (iso?.healthy && pool.get(k) === existing) {
        pool.delete(k);
        pool.set(k, existing);
        return iso;
      }
      if (pool.get(k) === existing) {
        pool.delete(k);
        ready.delete(k);
      }
    }
    // The load only becomes the warm isolate if it is still the pool's entry when it finishes.
    const slot: { pending?: Promise<PluginIsolate> } = {};
    slot.pending = (async () => {
      loads++;
      const iso = await PluginIsolate.load(await opts.loadBundle(ref), opts.limits, servicesFor(ref));
      if (pool.get(k) === slot.pending) ready.set(k, iso);
      return iso;
    })();
    const pending = slot.pending;
    pending.catch(() => pool.get(k) === pending && pool.delete(k));
    pool.set(k, pending);
    evict();
    return pending;
  };

  const loadFailure = (ref: PluginRef, err: unknown) => ({
    ok: false as const,
    error: { code: 'PLUGIN_LOAD_FAILED', message: `plugin ${ref.pluginId}@${ref.version} could not be loaded: ${(err as Error).message}`, retryable: true },
  });

  return {
    warm: get,
    async runAction(ref, key, call) {
      const k = keyOf(ref);
      const warm = ready.get(k);
      if (warm?.healthy) {
        const entry = pool.get(k)!;
        pool.delete(k);
        pool.set(k, entry);
        return warm.runAction(key, call);
      }
      let iso: PluginIsolate;
      try {
        iso = await get(ref);
      } catch (err) {
        return loadFailure(ref, err);
      }
      return iso.runAction(key, call);
    },
    async runTrigger(ref, key, request, secrets) {
      let iso: PluginIsolate;
      try {
        iso = await get(ref);
      } catch (err) {
        return loadFailure(ref, err);
      }
      return iso.runTrigger(key, request, secrets);
    },
    async runHook(ref, hook, key, call) {
      let iso: PluginIsolate;
      try {
        iso = await get(ref);
      } catch (err) {
        return loadFailure(ref, err);
      }
      return iso.runHook(hook, key, call);
    },
    stats: () => ({ isolates: pool.size, loads, fetches: fetchBudget.stats() }),
    async close() {
      closed = true;
      const all = [...pool.values()];
      pool.clear();
      ready.clear();
      for (const p of all) (await p.catch(() => null))?.dispose();
    },
  };
}
