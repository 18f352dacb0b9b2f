import { createHash } from 'node:crypto';
import type { JsonValue } from '../schema.ts';
import type { ContactSnapshot, TriggerEvent, TriggerRequest } from '../context.ts';
import type { PluginErrorShape } from '../errors.ts';
import { buildPlugin } from '../build/build.ts';
import { prepareProps } from '../manifest/props.ts';
import { checkOptionChoices, mapStack, parseSourceMap, PluginIsolate, type CallAuth, type HookName, type LogLevel, type PluginManifest, type SandboxLimits, type SandboxResult } from '../host/index.ts';
import type { AuthTestResult } from '../auth.ts';
import type { PollResult } from '../triggers.ts';

export { startTestServer, type RecordedRequest, type TestServer, type TestServerHandler } from './server.ts';

/**
 * Runs a plugin locally in the same isolated-vm sandbox the engine uses (the same `PluginIsolate`, the same
 * limits and fetch guard), with an in-memory store and captured logs. This module uses Node; plugin code
 * must not import it (the build refuses), only the plugin's tests.
 */

/**
 * Options of {@link loadPlugin}.
 *
 * @example
 * const opts: LoadPluginOptions = { entry: 'src/index.ts', testHosts: [`127.0.0.1:${port}`], secrets: { api_key: 'k' } };
 */
export interface LoadPluginOptions {
  /** The plugin's source entry (built with the same esbuild settings as `cairn-plugin build`). */
  entry?: string;
  /** Or an already built bundle. */
  bundle?: string;
  /** The bundle's source map (`dist/plugin.js.map`), for stacks in the plugin's source; built along with `entry`. */
  sourceMap?: string;
  /** `host:port` of local test servers the plugin may reach (added to allowedHosts, exempt from the private-address check). */
  testHosts?: string[];
  /** Default credentials for every call. */
  secrets?: Record<string, string>;
  /**
   * The OAuth2 connection the engine would hand an `oauth2` plugin: `ctx.auth.accessToken`, and optionally what
   * the engine does after a 401 to a request that carried it (return the new token; it is then repeated).
   */
  auth?: { accessToken: string; refresh?: (stale: string) => Promise<string | null> | string | null };
  limits?: Partial<SandboxLimits>;
  maxResponseBytes?: number;
}

/**
 * A log line captured from `ctx.log`.
 *
 * @example
 * expect(plugin.logs.some((l) => l.level === 'info' && l.message === 'sent')).toBe(true);
 */
export interface CapturedLog {
  level: LogLevel;
  message: string;
  fields: Record<string, JsonValue> | null;
}

/**
 * Options of one test call.
 *
 * @example
 * await plugin.run('send_sms', { to: '+1555' }, { contact: { email: 'a@b.co' } });
 */
export interface RunOptions {
  contact?: Partial<ContactSnapshot>;
  secrets?: Record<string, string>;
  idempotencyKey?: string;
}

/**
 * The error {@link LoadedPlugin.run} throws when the action fails: the same `{ code, message, retryable }`
 * the engine records on the step.
 *
 * @example
 * await expect(plugin.run('send', {})).rejects.toMatchObject({ code: 'FETCH_HOST_NOT_ALLOWED' });
 */
export class PluginCallError extends Error implements PluginErrorShape {
  override name = 'PluginCallError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly limit?: string,
    /** The least delay before a retry the plugin asked for (see `PluginErrorOptions.retryAfterMs`). */
    readonly retryAfterMs?: number,
    /** Where the plugin threw, in its own source files when the source map is known (`src/actions/x.ts:12:5`). */
    readonly pluginStack?: string,
  ) {
    super(message);
  }
}

/**
 * A plugin loaded in a sandbox for tests.
 *
 * @example
 * const plugin = await loadPlugin({ entry: new URL('../src/index.ts', import.meta.url).pathname });
 * const out = await plugin.run('post_message', { text: 'hi' });
 * await plugin.dispose();
 */
export interface LoadedPlugin {
  readonly manifest: PluginManifest;
  readonly logs: CapturedLog[];
  /** The plugin's `ctx.store` contents. */
  readonly store: Map<string, JsonValue>;
  /** Runs an action; resolves with its output or rejects with a {@link PluginCallError}. */
  run(key: string, props: JsonValue, opts?: RunOptions): Promise<JsonValue>;
  /** Runs an action and returns the raw result, success or failure. */
  call(key: string, props: JsonValue, opts?: RunOptions): Promise<SandboxResult<JsonValue>>;
  /** Runs a polling trigger's `poll(ctx, cursor)`. */
  poll(key: string, cursor?: JsonValue | null): Promise<PollResult>;
  /** Runs a webhook trigger's `subscribe(ctx, { webhookUrl })`. */
  subscribe(key: string, webhookUrl: string): Promise<JsonValue>;
  /** Runs a webhook trigger's `unsubscribe(ctx, { webhookUrl, subscription })`. */
  unsubscribe(key: string, webhookUrl: string, subscription: JsonValue): Promise<void>;
  /** Runs the test-connection function of `defineAuth({ test })`. */
  testAuth(): Promise<AuthTestResult>;
  /** Runs an action's dynamic-options function for `prop` (`defineAction({ options })`), checked like the engine's. */
  options(action: string, prop: string): Promise<{ value: string | number; label: string }[]>;
  /** Passes a request to a trigger's `verify`. */
  verify(key: string, request: Partial<TriggerRequest> & { body: string }, secrets?: Record<string, string>): Promise<TriggerEvent[]>;
  dispose(): Promise<void>;
}

/**
 * Builds (if given `entry`) and loads a plugin in the sandbox. A call that breaches a limit disposes the
 * isolate, as in the engine; the next call loads a fresh one.
 *
 * @example
 * import { loadPlugin } from '@cairn/plugin-sdk/testing';
 * const plugin = await loadPlugin({ entry: 'src/index.ts', testHosts: [`127.0.0.1:${port}`], secrets: { token: 't' } });
 * expect(await plugin.run('create_contact', { email: 'a@b.co', base_url: `http://127.0.0.1:${port}` })).toEqual({ id: '1' });
 */
export async function loadPlugin(opts: LoadPluginOptions): Promise<LoadedPlugin> {
  const built = opts.bundle ? { bundle: opts.bundle, sourceMap: opts.sourceMap } : opts.entry ? await buildPlugin(opts.entry) : null;
  if (!built) throw new TypeError('loadPlugin needs entry or bundle');
  const { bundle } = built;
  const sourceMap = built.sourceMap ? parseSourceMap(built.sourceMap) : null;
  const failure = (e: { code: string; message: string; retryable: boolean; limit?: string; retryAfterMs?: number; stack?: string }) =>
    new PluginCallError(e.code, e.message, e.retryable, e.limit, e.retryAfterMs, e.stack && sourceMap ? mapStack(e.stack, sourceMap) : e.stack);
  const limits: SandboxLimits = { memoryLimitMb: 64, cpuTimeMs: 1000, wallTimeMs: 10_000, ...opts.limits };
  const logs: CapturedLog[] = [];
  const store = new Map<string, JsonValue>();
  const services = {
    store: {
      get: async (k: string) => store.get(k),
      set: async (k: string, v: JsonValue) => void store.set(k, structuredClone(v)),
      delete: async (k: string) => void store.delete(k),
    },
    log: (level: LogLevel, message: string, fields: Record<string, JsonValue> | null) => void logs.push({ level, message, fields }),
    fetch: { privateHosts: [], testHosts: opts.testHosts ?? [], timeoutMs: 10_000, maxResponseBytes: opts.maxResponseBytes ?? 5 * 1024 * 1024, maxRedirects: 5 },
  };
  let isolate = await PluginIsolate.load(bundle, limits, services);
  const current = async () => (isolate.healthy ? isolate : (isolate = await PluginIsolate.load(bundle, limits, services)));
  let n = 0;
  const auth = (): CallAuth | undefined => {
    const a = opts.auth;
    if (!a) return undefined;
    return { accessToken: a.accessToken, ...(a.refresh ? { refresh: async (stale: string) => (await a.refresh!(stale)) ?? null } : {}) };
  };
  const hook = async (name: HookName, key: string, arg: JsonValue) => {
    const r = await (await current()).runHook(name, key, { secrets: opts.secrets ?? {}, auth: auth(), arg });
    if (r.ok) return r.value;
    throw failure(r.error);
  };
  // Props are prepared as the engine prepares a node's config: coerced to the declared types, defaults applied,
  // validated; a call with props the engine would refuse fails the same way, without running the action.
  const call = async (key: string, raw: JsonValue, o: RunOptions = {}): Promise<SandboxResult<JsonValue>> => {
    const action = isolate.manifest.actions.find((a) => a.key === key);
    const { props, problems } = action ? prepareProps(action.props, raw) : { props: raw, problems: [] };
    if (problems.length) {
      const label = `plugin ${isolate.manifest.id}@${isolate.manifest.version} action ${key}`;
      return { ok: false, error: { code: 'CAIRN_ERR_STEP_FAILED', message: `the props do not match the props schema of ${label}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, retryable: false } };
    }
    return (await current()).runAction(key, {
      props: props as JsonValue,
      auth: auth(),
      secrets: o.secrets ?? opts.secrets ?? {},
      contact: { id: 'test-contact', external_id: null, email: null, properties: {}, tags: [], ...o.contact } as JsonValue,
      idempotencyKey: o.idempotencyKey ?? `test-run-${createHash('sha1').update(String(++n)).digest('hex').slice(0, 8)}:node`,
    });
  };
  return {
    manifest: isolate.manifest,
    logs,
    store,
    call,
    async run(key, props, o) {
      const r = await call(key, props, o);
      if (r.ok) return r.value;
      throw failure(r.error);
    },
    poll: async (key, cursor = null) => (await hook('poll', key, cursor)) as unknown as PollResult,
    subscribe: (key, webhookUrl) => hook('subscribe', key, { webhookUrl }),
    unsubscribe: async (key, webhookUrl, subscription) => void (await hook('unsubscribe', key, { webhookUrl, subscription })),
    testAuth: async () => (await hook('auth.test', '', null)) as AuthTestResult,
    async options(action, prop) {
      const checked = checkOptionChoices(await hook('options', `${action}/${prop}`, null));
      if (!checked.ok) throw failure({ code: 'PLUGIN_BAD_OPTIONS', message: checked.message, retryable: false });
      return checked.choices;
    },
    async verify(key, request, secrets) {
      const full: TriggerRequest = { method: 'POST', headers: {}, query: {}, ...request };
      const r = await (await current()).runTrigger(key, full, secrets ?? opts.secrets ?? {});
      if (r.ok) return r.value;
      throw failure(r.error);
    },
    async dispose() {
      isolate.dispose();
    },
  };
}
