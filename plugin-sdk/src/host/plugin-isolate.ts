import ivm from 'isolated-vm';
import type { JsonValue } from '../schema.ts';
import type { TriggerEvent, TriggerRequest } from '../context.ts';
import type { PluginErrorShape } from '../errors.ts';
import type { AuthMethodManifest } from '../auth.ts';
import type { TriggerChallenge } from '../triggers.ts';
import { BOOTSTRAP_SOURCE } from './bootstrap.ts';
import { DEFAULT_CALL_FETCH_CAPS, FetchBudget, type FetchCaps } from './fetch-budget.ts';
import { cryptoOp, MAX_CRYPTO_ARGS_CHARS, syncGlobalOp, type CryptoBudget } from './global-ops.ts';
import { FetchError, guardedFetch, type FetchPolicy } from './net-guard.ts';
import { createRedactor, type Redactor } from './redact.ts';
import { breathe, SLICE_MS } from './slice.ts';
import { BUNDLE_FILENAME } from './source-map.ts';

/**
 * One plugin bundle loaded in one isolated-vm isolate. This is the sandbox core that the engine pools (per
 * plugin version and workspace) and that `@cairn/plugin-sdk/testing` uses as is, so a plugin's tests run in
 * the same sandbox as production. It knows nothing of the engine: the store, the logger and the fetch
 * policy are handed in.
 *
 * Limits: memory (isolate heap, enforced by V8/isolated-vm, which disposes the isolate), CPU time per call
 * (isolated-vm's `timeout` for the synchronous part, plus a watchdog on `isolate.cpuTime` because awaited
 * continuations run outside that timeout) and a wall-clock deadline per call that Cairn enforces itself
 * (a never-settling promise would otherwise hang the step; an action may ask for less with `timeoutMs`).
 * A memory or CPU breach disposes the isolate (nothing else can stop running code); the owner notices
 * `disposed` and loads a fresh one for the next call. A wall-time breach fails only that call: it is waiting,
 * not running, so it is abandoned (its fetches aborted, its host calls refused) and the isolate stays, unless
 * the abandoned call keeps working after its end (see `abandon`).
 */

export interface SandboxLimits {
  memoryLimitMb: number;
  cpuTimeMs: number;
  wallTimeMs: number;
}

export type LimitKind = 'memory' | 'cpu time' | 'wall time';

export interface ActionManifest {
  key: string;
  title: string;
  description: string;
  props: Record<string, unknown>;
  output: Record<string, unknown> | null;
  /** The action's own wall-clock limit in ms (null: the engine's); the engine's limit caps it. */
  timeoutMs?: number | null;
}

/** What the bundle itself declares (the build writes it to manifest.json; the engine compares them). */
export interface PluginManifest {
  id: string;
  name: string;
  version: string;
  description: string;
  allowedHosts: string[];
  auth: Record<string, unknown> | null;
  /** How the plugin authenticates (`defineAuth`); absent or null for a plain credentials schema. */
  authMethod?: AuthMethodManifest | null;
  actions: ActionManifest[];
  triggers: TriggerManifest[];
}

/** A trigger as declared (older bundles declare only key, title and description: webhook triggers). */
export interface TriggerManifest {
  key: string;
  title: string;
  description: string;
  type?: 'webhook' | 'polling';
  intervalSeconds?: number | null;
  subscribe?: boolean;
  challenge?: TriggerChallenge | null;
}

/**
 * The OAuth2 access token of a call, and how to get a new one: on a 401 answer to a request that carried the
 * token, the host calls `refresh` once per call and repeats that request with the new token.
 */
export interface CallAuth {
  accessToken: string;
  refresh?(stale: string): Promise<string | null>;
}

/** A trigger hook, the test-connection function or an action's dynamic options (`options`, key `<action>/<prop>`). */
export type HookName = 'poll' | 'subscribe' | 'unsubscribe' | 'auth.test' | 'options';

export interface HookCall {
  secrets: Record<string, string>;
  auth?: CallAuth;
  /** The hook's argument: the cursor (poll), `{ webhookUrl }` (subscribe), `{ webhookUrl, subscription }` (unsubscribe). */
  arg?: JsonValue;
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
}

/** The persistent key-value store of one plugin in one workspace. */
export interface PluginStoreBackend {
  get(key: string): Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): Promise<void>;
  delete(key: string): Promise<void>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface HostServices {
  store: PluginStoreBackend;
  /** `meta` is what the caller passed with the call (run id, node id...). */
  log(level: LogLevel, message: string, fields: Record<string, JsonValue> | null, meta: Record<string, unknown>): void;
  /**
   * `allowedHosts` comes from the bundle's own declaration; the rest from the operator. `testHosts`
   * (`host:port`) are added to the allowed hosts AND exempt from the private-address check: the explicit
   * override that lets tests reach a local receiver without opening every private address.
   */
  fetch: Omit<FetchPolicy, 'allowedHosts'> & {
    testHosts?: readonly string[];
    /**
     * Hosts the workspace's admin added for development (GET/PUT /v1/settings/plugin-hosts), asked for at each
     * fetch: added to the manifest's allowedHosts only. They get no private-address exemption (that stays the
     * operator's switch), and link-local and `deniedTargets` stay refused whatever they list.
     */
    extraAllowedHosts?: () => Promise<readonly string[]>;
    /** Caps of one call's fetches (default: 4 at once, 16 MiB of responses in flight). */
    perCall?: Readonly<FetchCaps>;
    /** Shared by every isolate of the engine, so all plugin fetches together stay within its caps. */
    engine?: FetchBudget;
  };
}

export interface ActionCall {
  props: JsonValue;
  secrets: Record<string, string>;
  contact: JsonValue;
  idempotencyKey: string;
  /** The OAuth2 connection's access token (plugins with an `oauth2` auth). */
  auth?: CallAuth;
  /** Passed back to `services.log` so log lines carry run and node ids. */
  meta?: Record<string, unknown>;
  /** Aborts the call (e.g. the engine shuts down); the isolate is disposed like on a limit breach. */
  signal?: AbortSignal;
}

/** One line a call logged (`ctx.log.*` or `console.*`), as kept on its step: redacted and bounded. */
export interface CallLogLine {
  level: LogLevel;
  message: string;
  fields?: Record<string, JsonValue>;
  source: 'ctx.log' | 'console';
  at: string;
}

export type SandboxResult<T> = (
  | { ok: true; value: T }
  | { ok: false; error: PluginErrorShape & { limit?: LimitKind; stack?: string } }
) & { logs?: CallLogLine[] };

const MAX_RESULT_CHARS = 1024 * 1024;
const MAX_STORE_KEY = 200;
const MAX_STORE_VALUE_CHARS = 64 * 1024;
const MAX_LOG_CHARS = 4000;
const MAX_LOG_LINES_PER_CALL = 200;
/** Lines of one call kept on its step (the rest only reach the engine log, up to the limit above). */
const MAX_KEPT_LOG_LINES = 50;
const MAX_KEPT_LOG_CHARS = 1000;
const WATCHDOG_MS = 10;
/** How long before the wall deadline a fetch gives up, leaving the plugin time to handle FETCH_TIMEOUT. */
const FETCH_DEADLINE_MARGIN_MS = 500;
/** How long a call abandoned at its wall deadline may take to settle while still watched for CPU. */
const ABANDON_GRACE_MS = 1000;
const WALL = Symbol('wall time');
/** How long a call's first synchronous stretch may hold the engine's thread (see `runHere`). */
const SYNC_ATTEMPT_MS = 15;
/** Calls of an action that go straight to the thread pool after one outran `SYNC_ATTEMPT_MS`. */
const POOL_AFTER_OVERRUN = 100;

/**
 * V8's code cache of the bootstrap (and the web globals in it), produced by the first isolate of the process and
 * handed to the next ones: they skip parsing and compiling it, which is most of what the globals add to a cold start.
 */
const bootstrapCache = {
  data: null as ivm.ExternalCopy<ArrayBuffer> | null,
  options(): { cachedData: ivm.ExternalCopy<ArrayBuffer> } | { produceCachedData: true } {
    return this.data ? { cachedData: this.data } : { produceCachedData: true };
  },
  keep(script: ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean }): void {
    if (!this.data && script.cachedData) this.data = script.cachedData;
    else if (script.cachedDataRejected) this.data = null;
  },
};

type CallAuthState = { tokens: string[]; current: string; refresh?: CallAuth['refresh']; refreshed: boolean };

/**
 * One call in flight. Its fetch controller and fetch budget are made on its first fetch: most calls never fetch,
 * and an AbortController aborted at every call's end (a DOMException with its stack) cost more than the rest of
 * the host's per-call work together.
 */
class ActiveCall {
  logLines = 0;
  /** How many log lines the call sent, as its result says (they travel apart from it). */
  logsSent = 0;
  /** The lines kept for the step. */
  readonly kept: CallLogLine[] = [];
  /** Bytes hashed by the call's crypto.subtle operations. */
  readonly crypto: CryptoBudget = { bytes: 0 };
  private controller: AbortController | null = null;
  private budget: FetchBudget | null = null;
  private ended = false;

  constructor(
    readonly meta: Record<string, unknown>,
    /** The values `redact` replaces (a refreshed access token joins them). */
    readonly secretValues: string[],
    /** Replaces the call's credential values in its log lines, result and error. */
    public redact: Redactor,
    readonly auth: CallAuthState | null,
    /** When the call's wall-clock deadline falls (epoch ms): fetches time out before it. */
    readonly deadline: number,
    private readonly caps: Readonly<FetchCaps>,
  ) {}

  /** Aborted when the call ends or its isolate is disposed. */
  get fetchSignal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.ended) this.controller.abort();
    }
    return this.controller.signal;
  }

  get fetchBudget(): FetchBudget {
    return (this.budget ??= new FetchBudget(this.caps, 'call'));
  }

  /** Aborts the call's fetches (and any it would still start). */
  endFetches(): void {
    this.ended = true;
    this.controller?.abort();
  }
}

export class PluginIsolate {
  readonly manifest: PluginManifest;
  private readonly isolate: ivm.Isolate;
  private readonly context: ivm.Context;
  private readonly runActionRef: ivm.Reference<(...a: unknown[]) => Promise<string>>;
  private readonly runTriggerRef: ivm.Reference<(...a: unknown[]) => Promise<string>>;
  private readonly runHookRef: ivm.Reference<(...a: unknown[]) => Promise<string>>;
  private readonly calls = new Map<string, ActiveCall>();
  private nextCallId = 1;
  private disposeReason: LimitKind | 'disposed' | null = null;
  /** The call that breached the limit, when known (cpu watchdog, wall deadline, sync timeout). */
  private culprit: string | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** CPU clock at the start of each call still watched: the active ones and those abandoned within their grace. */
  private readonly cpuStarts = new Map<string, bigint>();
  /** Calls abandoned at their wall deadline that have not settled yet, with the host calls they tried since. */
  private readonly abandoned = new Map<string, { hostCalls: number }>();
  /** Actions (by `what`) whose first stretch outran the attempt on this thread, with the calls left to start on the pool. */
  private readonly poolOnly = new Map<string, number>();

  private constructor(
    isolate: ivm.Isolate,
    context: ivm.Context,
    manifest: PluginManifest,
    refs: { action: ivm.Reference<(...a: unknown[]) => Promise<string>>; trigger: ivm.Reference<(...a: unknown[]) => Promise<string>>; hook: ivm.Reference<(...a: unknown[]) => Promise<string>> },
    private readonly limits: SandboxLimits,
    private readonly services: HostServices,
  ) {
    this.isolate = isolate;
    this.context = context;
    this.manifest = manifest;
    this.runActionRef = refs.action;
    this.runTriggerRef = refs.trigger;
    this.runHookRef = refs.hook;
  }

  /** Creates the isolate, installs the bootstrap, evaluates the bundle and reads the plugin's declaration. */
  static async load(bundle: string, limits: SandboxLimits, services: HostServices): Promise<PluginIsolate> {
    const isolate = new ivm.Isolate({ memoryLimit: limits.memoryLimitMb });
    let self: PluginIsolate | null = null;
    try {
      const context = await isolate.createContext();
      // One host entry point; validated per op. It is bound to `self` once the instance exists.
      const hostRef = new ivm.Reference(async (op: unknown, args: unknown) => (self ? self.dispatch(op, args) : JSON.stringify({ error: { code: 'HOST_NOT_READY', message: 'the sandbox is still loading', retryable: false } })));
      await context.global.set('__cairn_host', hostRef);
      // URL and random bytes for the web globals (global-ops.ts): strings in, a string out.
      await context.global.set('__cairn_host_sync', new ivm.Reference(syncGlobalOp));
      const boot = await isolate.compileScript(BOOTSTRAP_SOURCE, { filename: 'cairn-bootstrap.js', ...bootstrapCache.options() });
      bootstrapCache.keep(boot);
      await boot.run(context, { timeout: limits.cpuTimeMs });
      boot.release();
      const script = await isolate.compileScript(bundle, { filename: BUNDLE_FILENAME });
      await script.run(context, { timeout: limits.cpuTimeMs });
      script.release();
      const manifestText: unknown = await context.eval('__cairn_entry.load()', { timeout: limits.cpuTimeMs });
      const manifest = JSON.parse(String(manifestText)) as PluginManifest;
      const action = (await context.eval('__cairn_entry.runAction', { reference: true })) as ivm.Reference<(...a: unknown[]) => Promise<string>>;
      const trigger = (await context.eval('__cairn_entry.runTrigger', { reference: true })) as ivm.Reference<(...a: unknown[]) => Promise<string>>;
      const hook = (await context.eval('__cairn_entry.runHook', { reference: true })) as ivm.Reference<(...a: unknown[]) => Promise<string>>;
      self = new PluginIsolate(isolate, context, manifest, { action, trigger, hook }, limits, services);
      return self;
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw new Error(`cannot load the plugin bundle: ${(err as Error).message}`, { cause: err });
    }
  }

  /** false once a limit breach (or `dispose`) ended this isolate: load a new one. */
  get healthy(): boolean {
    return this.disposeReason === null && !this.isolate.isDisposed;
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Heap statistics of the isolate (for the memory-per-isolate figure and operators). */
  async heap(): Promise<{ usedBytes: number; totalBytes: number; externalBytes: number }> {
    const s = await this.isolate.getHeapStatistics();
    return { usedBytes: s.used_heap_size, totalBytes: s.total_heap_size, externalBytes: s.externally_allocated_size };
  }

  runAction(key: string, call: ActionCall): Promise<SandboxResult<JsonValue>> {
    const input = JSON.stringify({ props: call.props, secrets: call.secrets, contact: call.contact, idempotencyKey: call.idempotencyKey, auth: call.auth ? { accessToken: call.auth.accessToken } : null });
    const own = this.manifest.actions.find((a) => a.key === key)?.timeoutMs;
    const wallMs = typeof own === 'number' && own > 0 ? Math.min(own, this.limits.wallTimeMs) : this.limits.wallTimeMs;
    return this.invoke(`action ${key}`, call.meta ?? {}, call.secrets, call.signal, (callId) => [this.runActionRef, [callId, key, input]], wallMs, call.auth);
  }

  /**
   * Runs a trigger hook (`poll`, `subscribe`, `unsubscribe` of trigger `key`) or the plugin's test-connection
   * function (`auth.test`, `key` ignored) with a ctx like an action's (no contact), under the same limits.
   */
  runHook(hook: HookName, key: string, call: HookCall): Promise<SandboxResult<JsonValue>> {
    const input = JSON.stringify({ hook, key, arg: call.arg ?? null, secrets: call.secrets, auth: call.auth ? { accessToken: call.auth.accessToken } : null });
    const what = hook === 'auth.test' ? 'the test-connection function' : hook === 'options' ? `the options of ${key}` : `${hook} of trigger ${key}`;
    return this.invoke(what, call.meta ?? {}, call.secrets, call.signal, (callId) => [this.runHookRef, [callId, input]], this.limits.wallTimeMs, call.auth);
  }

  async runTrigger(key: string, request: TriggerRequest, secrets: Record<string, string>, meta: Record<string, unknown> = {}): Promise<SandboxResult<TriggerEvent[]>> {
    const input = JSON.stringify({ request, secrets });
    const r = await this.invoke(`trigger ${key}`, meta, secrets, undefined, (callId) => [this.runTriggerRef, [callId, key, input]]);
    if (r.ok && !Array.isArray(r.value)) {
      return { ok: false, error: { code: 'PLUGIN_BAD_TRIGGER_RESULT', message: `trigger ${key} of ${this.label} must return a list of events`, retryable: false } };
    }
    return r as SandboxResult<TriggerEvent[]>;
  }

  dispose(): void {
    this.terminate('disposed');
  }

  private get label(): string {
    return `plugin ${this.manifest.id}@${this.manifest.version}`;
  }

  private async invoke(
    what: string,
    meta: Record<string, unknown>,
    secrets: Record<string, string>,
    signal: AbortSignal | undefined,
    target: (callId: string) => [ivm.Reference<(...a: unknown[]) => Promise<string>>, unknown[]],
    wallMs = this.limits.wallTimeMs,
    auth?: CallAuth,
  ): Promise<SandboxResult<JsonValue>> {
    if (!this.healthy) return this.limitResult(what, this.disposeReason === 'disposed' || !this.disposeReason ? null : this.disposeReason);
    // A start on this thread may hold it `SYNC_ATTEMPT_MS`: only within what is left of the current slice.
    await breathe(SLICE_MS - SYNC_ATTEMPT_MS);
    if (!this.healthy) return this.limitResult(what, this.disposeReason === 'disposed' || !this.disposeReason ? null : this.disposeReason);
    let callId = String(this.nextCallId++);
    const secretValues = [...Object.values(secrets), ...(auth ? [auth.accessToken] : [])];
    const active = new ActiveCall(
      meta,
      secretValues,
      createRedactor(secretValues),
      auth ? { tokens: [auth.accessToken], current: auth.accessToken, refresh: auth.refresh, refreshed: false } : null,
      Date.now() + wallMs,
      this.services.fetch.perCall ?? DEFAULT_CALL_FETCH_CAPS,
    );
    this.calls.set(callId, active);
    this.cpuStarts.set(callId, this.isolate.cpuTime);
    this.startWatchdog();
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> | undefined;
    let abandoned = false;
    const onAbort = () => this.terminate('disposed');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const here = this.runHere(what, ...target(callId));
      if (here === 'again') {
        // A new id: host calls the stopped attempt queued are refused (HOST_CALL_ENDED), not taken as this call's.
        this.calls.delete(callId);
        this.cpuStarts.delete(callId);
        callId = String(this.nextCallId++);
        this.calls.set(callId, active);
        this.cpuStarts.set(callId, this.isolate.cpuTime);
      }
      if (here === 'again' || here === 'pool') {
        const [ref, args] = target(callId);
        running = ref.apply(undefined, args as never[], { timeout: this.limits.cpuTimeMs, result: { promise: true } });
      } else running = here;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(WALL), wallMs);
      });
      const text = await Promise.race([running, deadline]);
      const result = this.parseResult(what, text, active);
      await linesArrived(active);
      return withLogs(redactResult(result, active.redact), active);
    } catch (err) {
      if (err === WALL && running) {
        abandoned = true;
        this.abandon(callId, running);
        return withLogs({ ok: false, error: { code: 'PLUGIN_LIMIT_EXCEEDED', limit: 'wall time', message: `${what} of ${this.label} exceeded its wall time limit (${wallMs} ms)`, retryable: false } }, active);
      }
      return withLogs(redactResult(this.failure(what, err, callId), active.redact), active);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      active.endFetches();
      this.calls.delete(callId);
      if (!abandoned) this.cpuStarts.delete(callId);
    }
  }

  /**
   * Starts a call on this thread when the isolate has nothing else in flight: its first synchronous stretch (all of
   * a call that does not wait on the host) runs here, without the hand-over to isolated-vm's thread pool and back,
   * which on an idle machine costs more than the call (a sleeping pool thread must be woken, then this one). The
   * stretch may take `SYNC_ATTEMPT_MS`, so the event loop is never held longer (as a Liquid render attempt); one
   * that runs longer is stopped and the call is started again on the pool with its full CPU limit ('again'), and
   * that action goes straight to the pool for its next `POOL_AFTER_OVERRUN` calls. A stopped attempt's host calls
   * are refused, so it leaves nothing behind outside the isolate; what it changed in the plugin's own module state
   * stays (as after any retry, a plugin must not count on module state).
   */
  private runHere(what: string, ref: ivm.Reference<(...a: unknown[]) => Promise<string>>, args: unknown[]): Promise<unknown> | 'again' | 'pool' {
    const skip = this.poolOnly.get(what);
    if (skip !== undefined) {
      if (skip <= 1) this.poolOnly.delete(what);
      else this.poolOnly.set(what, skip - 1);
      return 'pool';
    }
    if (this.calls.size !== 1 || this.abandoned.size !== 0) return 'pool';
    try {
      return ref.applySync(undefined, args as never[], { timeout: Math.min(SYNC_ATTEMPT_MS, this.limits.cpuTimeMs), result: { promise: true } }) as Promise<unknown>;
    } catch (err) {
      if (this.isolate.isDisposed || !/timed out/i.test((err as Error)?.message ?? '')) throw err;
      this.poolOnly.set(what, POOL_AFTER_OVERRUN);
      return 'again';
    }
  }

  /**
   * A call past its wall deadline is waiting on something (a never-settling promise, a host call): it is failed
   * now and left behind, with its fetches aborted and further host calls refused. It usually settles at once
   * (an aborted fetch rejects); until it settles, for `ABANDON_GRACE_MS`, the CPU watchdog still counts it. If it
   * has not settled by then and it still tried host calls after its end, it is working on: the isolate is
   * disposed like on any breach (other calls get a retryable PLUGIN_SANDBOX_RESET). One that merely waits
   * forever costs nothing and stays.
   */
  private abandon(callId: string, running: Promise<unknown>): void {
    const state = { hostCalls: 0 };
    this.abandoned.set(callId, state);
    const settled = () => {
      this.abandoned.delete(callId);
      this.cpuStarts.delete(callId);
    };
    running.then(settled, settled);
    setTimeout(() => {
      if (!this.abandoned.has(callId)) return;
      if (state.hostCalls > 0) this.terminate('wall time', callId);
      settled();
    }, ABANDON_GRACE_MS).unref();
  }

  private parseResult(what: string, text: unknown, call: ActiveCall): SandboxResult<JsonValue> {
    if (typeof text !== 'string') return { ok: false, error: { code: 'PLUGIN_BAD_RESULT', message: `${what} of ${this.label} returned no result`, retryable: false } };
    if (text.length > MAX_RESULT_CHARS) {
      return { ok: false, error: { code: 'PLUGIN_OUTPUT_TOO_LARGE', message: `${what} of ${this.label} returned ${text.length} characters; the limit is ${MAX_RESULT_CHARS}`, retryable: false } };
    }
    const r = JSON.parse(text) as { ok?: unknown; value?: JsonValue; logged?: unknown; error?: { code?: unknown; message?: unknown; retryable?: unknown; retryAfterMs?: unknown; stack?: unknown } };
    if (typeof r.logged === 'number') call.logsSent = r.logged;
    if (r.ok === true) return { ok: true, value: r.value ?? null };
    const e = r.error ?? {};
    return {
      ok: false,
      error: {
        code: typeof e.code === 'string' ? e.code : 'PLUGIN_ERROR',
        message: `${what} of ${this.label} failed: ${typeof e.message === 'string' ? e.message : 'unknown error'}`,
        retryable: e.retryable === true,
        ...(typeof e.retryAfterMs === 'number' && e.retryAfterMs > 0 ? { retryAfterMs: e.retryAfterMs } : {}),
        ...(typeof e.stack === 'string' && e.stack ? { stack: e.stack } : {}),
      },
    };
  }

  private failure(what: string, err: unknown, callId: string): SandboxResult<JsonValue> {
    const message = (err as Error)?.message ?? String(err);
    if (!this.disposeReason) {
      if (/memory limit/i.test(message) || this.isolate.isDisposed) this.terminate('memory');
      else if (/timed out/i.test(message)) this.terminate('cpu time', callId);
      else this.terminate('disposed');
    }
    const limit = this.disposeReason === 'disposed' ? null : this.disposeReason;
    if (limit && this.culprit !== null && this.culprit !== callId) {
      // An innocent call that shared the isolate with the offender: retry it on a fresh isolate.
      return {
        ok: false,
        error: { code: 'PLUGIN_SANDBOX_RESET', message: `${what} of ${this.label} was interrupted: another call of this plugin exceeded its ${limit} limit and the isolate was disposed`, retryable: true },
      };
    }
    return this.limitResult(what, limit, message);
  }

  private limitResult(what: string, limit: LimitKind | null, detail?: string): SandboxResult<never> {
    if (!limit) {
      return { ok: false, error: { code: 'PLUGIN_SANDBOX_FAILED', message: `${what} of ${this.label} could not run: ${detail ?? 'the isolate was disposed'}`, retryable: true } };
    }
    const value = limit === 'memory' ? `${this.limits.memoryLimitMb} MB` : limit === 'cpu time' ? `${this.limits.cpuTimeMs} ms` : `${this.limits.wallTimeMs} ms`;
    return {
      ok: false,
      error: { code: 'PLUGIN_LIMIT_EXCEEDED', limit, message: `${what} of ${this.label} exceeded its ${limit} limit (${value}); the isolate was disposed`, retryable: false },
    };
  }

  private terminate(reason: LimitKind | 'disposed', culprit?: string): void {
    if (this.disposeReason === null && culprit !== undefined) this.culprit = culprit;
    this.disposeReason ??= reason;
    this.stopWatchdog();
    for (const c of this.calls.values()) c.endFetches();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }

  /**
   * Awaited continuations run outside isolated-vm's `timeout`; this catches a loop that starts after an await.
   * It stops itself at the first tick with no call to watch, so back-to-back calls share one timer.
   */
  private startWatchdog(): void {
    if (this.watchdog) return;
    const limitNs = BigInt(this.limits.cpuTimeMs) * 1_000_000n;
    this.watchdog = setInterval(() => {
      if (this.isolate.isDisposed || this.cpuStarts.size === 0) return this.stopWatchdog();
      const now = this.isolate.cpuTime;
      // The oldest call over the limit is the offender (concurrent calls share the isolate's CPU clock).
      for (const [callId, start] of this.cpuStarts) if (now - start > limitNs) return this.terminate('cpu time', callId);
    }, WATCHDOG_MS);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** Every host function the isolate can reach goes through here; arguments are untrusted. */
  private async dispatch(op: unknown, argsText: unknown): Promise<string> {
    try {
      if (typeof op !== 'string' || typeof argsText !== 'string' || argsText.length > (op.startsWith('crypto.') ? MAX_CRYPTO_ARGS_CHARS : MAX_RESULT_CHARS)) throw new FetchError('HOST_BAD_ARGUMENTS', 'bad host call');
      const args = JSON.parse(argsText) as Record<string, unknown>;
      const call = typeof args.callId === 'string' ? this.calls.get(args.callId) : undefined;
      if (!call) {
        const gone = typeof args.callId === 'string' ? this.abandoned.get(args.callId) : undefined;
        if (gone) gone.hostCalls++;
        throw new FetchError('HOST_CALL_ENDED', 'this call has already ended; ctx cannot be used after run() returns');
      }
      if (op === 'fetch') return await this.fetchOp(args, call);
      return JSON.stringify({ value: await this.hostOp(op, args, call) });
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; retryable?: unknown };
      const code = typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code) ? e.code : 'HOST_ERROR';
      return JSON.stringify({ error: { code, message: String(e.message ?? err), retryable: e.retryable === true } });
    }
  }

  private async hostOp(op: string, args: Record<string, unknown>, call: ActiveCall): Promise<JsonValue> {
    switch (op) {
      case 'store.get':
        return { value: (await this.services.store.get(storeKey(args.key))) ?? null };
      case 'store.set': {
        const value = JSON.stringify(args.value ?? null);
        if (value.length > MAX_STORE_VALUE_CHARS) throw new FetchError('STORE_VALUE_TOO_LARGE', `store values are limited to ${MAX_STORE_VALUE_CHARS} characters of JSON`);
        await this.services.store.set(storeKey(args.key), args.value as JsonValue);
        return null;
      }
      case 'store.delete':
        await this.services.store.delete(storeKey(args.key));
        return null;
      case 'log': {
        if (++call.logLines > MAX_LOG_LINES_PER_CALL) return null;
        const level = (['debug', 'info', 'warn', 'error'] as const).find((l) => l === args.level) ?? 'info';
        const fields = args.fields && typeof args.fields === 'object' && !Array.isArray(args.fields) ? (args.fields as Record<string, JsonValue>) : null;
        const message = call.redact.text(String(args.message).slice(0, MAX_LOG_CHARS));
        const redacted = fields && (call.redact.json(fields) as Record<string, JsonValue>);
        this.services.log(level, message, redacted, call.meta);
        if (call.kept.length < MAX_KEPT_LOG_LINES) {
          const source = args.source === 'console' ? 'console' : 'ctx.log';
          const short = message.length > MAX_KEPT_LOG_CHARS ? `${message.slice(0, MAX_KEPT_LOG_CHARS)}…` : message;
          call.kept.push({ level, message: short, ...(redacted ? { fields: redacted } : {}), source, at: new Date().toISOString() });
        }
        return null;
      }
      default:
        if (op.startsWith('crypto.')) return cryptoOp(op, args, call.crypto);
        throw new FetchError('HOST_UNKNOWN_OP', `unknown host operation ${op}`);
    }
  }

  /**
   * Runs one `ctx.http.fetch` within the call's and the engine's fetch caps (fetch-budget.ts) and returns the
   * answer as the text handed to the isolate: the response bytes stay counted until then. The body is not put
   * through JSON (escaping a 5 MiB body on the host and parsing it in the isolate cost more than the copy):
   * the text is the JSON of the rest, a newline (never inside JSON text), then the body as is.
   */
  private async fetchOp(args: Record<string, unknown>, call: ActiveCall): Promise<string> {
    const engine = this.services.fetch.engine;
    const signal = call.fetchSignal;
    await call.fetchBudget.acquire(signal);
    try {
      await engine?.acquire(signal);
    } catch (err) {
      call.fetchBudget.release();
      throw err;
    }
    let held = 0;
    const meter = (n: number) => {
      const refused = call.fetchBudget.take(n);
      if (refused) return refused;
      const busy = engine?.take(n) ?? null;
      if (busy) {
        call.fetchBudget.give(n);
        return busy;
      }
      held += n;
      return null;
    };
    try {
      const { body, ...head } = await this.fetchChecked(args, call, meter);
      return `${JSON.stringify({ value: head })}\n${body}`;
    } finally {
      call.fetchBudget.give(held);
      engine?.give(held);
      call.fetchBudget.release();
      engine?.release();
    }
  }

  private async fetchChecked(args: Record<string, unknown>, call: ActiveCall, meter: (n: number) => FetchError | null) {
    const method = String(args.method ?? 'GET').toUpperCase();
    if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].includes(method)) throw new FetchError('FETCH_BAD_METHOD', `method ${method} is not supported`);
    const headers: Record<string, string> = {};
    if (args.headers && typeof args.headers === 'object') {
      for (const [k, v] of Object.entries(args.headers as Record<string, unknown>)) {
        if (typeof v !== 'string' || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k) || /[\r\n]/.test(v)) throw new FetchError('FETCH_BAD_HEADER', `header "${k}" is not a valid header`);
        headers[k.toLowerCase()] = v;
      }
    }
    const body = args.body === null || args.body === undefined ? null : String(args.body);
    const asked = typeof args.timeoutMs === 'number' && args.timeoutMs > 0 ? Math.min(args.timeoutMs, this.services.fetch.timeoutMs) : this.services.fetch.timeoutMs;
    // A fetch times out before the call's wall deadline, so a slow vendor is a retryable FETCH_TIMEOUT the plugin
    // can handle, not a wall-time breach that disposes the isolate under every other call of this plugin.
    const timeoutMs = Math.max(1, Math.min(asked, call.deadline - Date.now() - FETCH_DEADLINE_MARGIN_MS));
    const { testHosts = [], extraAllowedHosts, ...policy } = this.services.fetch;
    const extra = extraAllowedHosts ? await extraAllowedHosts() : [];
    const send = () => guardedFetch(
      String(args.url),
      { method, headers: call.auth ? withToken(headers, call.auth.tokens, call.auth.current) : headers, body },
      { ...policy, timeoutMs: Math.max(1, Math.min(timeoutMs, call.deadline - Date.now() - FETCH_DEADLINE_MARGIN_MS)), allowedHosts: [...this.manifest.allowedHosts, ...extra, ...testHosts], privateHosts: [...policy.privateHosts, ...testHosts] },
      call.fetchSignal,
      meter,
    );
    const first = await send();
    return first.status === 401 && (await this.refreshAuth(call, headers)) ? send() : first;
  }

  /**
   * After a 401 to a request that carried the OAuth2 access token: one refresh per call (the host's `refresh`),
   * after which every request of the call carries the new token in place of the old one, and the new token is
   * redacted like the old.
   */
  private async refreshAuth(call: ActiveCall, headers: Record<string, string>): Promise<boolean> {
    const a = call.auth;
    if (!a?.refresh || a.refreshed || !Object.values(headers).some((v) => a.tokens.some((t) => v.includes(t)))) return false;
    a.refreshed = true;
    const fresh = await a.refresh(a.current);
    if (!fresh || fresh === a.current) return false;
    a.tokens.push(fresh);
    a.current = fresh;
    call.secretValues.push(fresh);
    call.redact = createRedactor(call.secretValues);
    return true;
  }
}

/** Headers with any access token the call has held replaced by the current one. */
function withToken(headers: Record<string, string>, tokens: readonly string[], current: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = tokens.reduce((acc, t) => (t && t !== current ? acc.split(t).join(current) : acc), v);
  return out;
}

/** Turns of the event loop a call's result waits at most for log lines still on their way to the host. */
const LOG_LINE_TURNS = 10;

/**
 * Log lines are sent fire and forget, ahead of the result; a call run on the host's own thread (`runHere`) answers
 * before they are handled, so its result waits for them: they are queued already and arrive within a turn or two.
 */
async function linesArrived(call: ActiveCall): Promise<void> {
  for (let turns = 0; call.logLines < call.logsSent && turns < LOG_LINE_TURNS; turns++) await new Promise((r) => setImmediate(r));
}

/** Outputs, trigger events, error messages and stacks leave the sandbox only with credential values replaced. */
function redactResult(r: SandboxResult<JsonValue>, redact: Redactor): SandboxResult<JsonValue> {
  if (r.ok) return { ok: true, value: redact.json(r.value) };
  const { stack, ...error } = r.error;
  return { ok: false, error: { ...error, message: redact.text(error.message), ...(stack ? { stack: redact.text(stack) } : {}) } };
}

/** The call's kept log lines (already redacted as they came), with a last line saying how many were not kept. */
function withLogs(r: SandboxResult<JsonValue>, call: ActiveCall): SandboxResult<JsonValue> {
  if (call.logLines === 0) return r;
  const logs = [...call.kept];
  const dropped = call.logLines - call.kept.length;
  if (dropped > 0) logs.push({ level: 'warn', message: `${dropped} more log lines were not kept (the first ${MAX_KEPT_LOG_LINES} are)`, source: 'ctx.log', at: new Date().toISOString() });
  return { ...r, logs };
}

function storeKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_STORE_KEY) throw new FetchError('STORE_BAD_KEY', `store keys are strings of 1 to ${MAX_STORE_KEY} characters`);
  return key;
}
