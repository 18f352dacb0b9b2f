import { INSTALL_GLOBALS_SOURCE } from './globals.ts';

/**
 * The code that runs inside every plugin isolate before the plugin's bundle: it takes the one host Reference
 * off the global object (so plugin code cannot call it with forged arguments), builds each call's frozen
 * `ctx`, and turns whatever the plugin returns or throws into a JSON string: the only thing that crosses back.
 * Plain ES2023 in a string because it is evaluated in a bare V8 context, not imported.
 */
export const BOOTSTRAP_SOURCE = String.raw`
(function () {
  'use strict';
  const host = globalThis.__cairn_host;
  const hostSync = globalThis.__cairn_host_sync;
  delete globalThis.__cairn_host;
  delete globalThis.__cairn_host_sync;
  // WebAssembly memory is allocated outside the V8 heap that isolated-vm's memory limit counts: one
  // new WebAssembly.Memory({ initial: 8192 }) holds 512 MiB of the engine's RSS. Plugins get no WebAssembly.
  delete globalThis.WebAssembly;
  const freeze = (v) => {
    if (v && typeof v === 'object' && !Object.isFrozen(v)) { Object.freeze(v); for (const k of Object.keys(v)) freeze(v[k]); }
    return v;
  };
  const shape = (e) => {
    try {
      if (e instanceof Error || (e && typeof e === 'object' && typeof e.message === 'string')) {
        const code = typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.code) ? e.code : 'PLUGIN_ERROR';
        const stack = typeof e.stack === 'string' ? e.stack.slice(0, 4000) : undefined;
        const after = typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs) && e.retryAfterMs > 0 ? Math.ceil(e.retryAfterMs) : undefined;
        return { code, message: String(e.message).slice(0, 2000), retryable: e.retryable === true, retryAfterMs: after, stack };
      }
      let text;
      try { text = JSON.stringify(e); } catch { text = undefined; }
      if (text === undefined) text = typeof e;
      return { code: 'PLUGIN_THREW_NON_ERROR', message: 'the plugin threw a non-Error value: ' + String(text).slice(0, 500), retryable: false };
    } catch {
      return { code: 'PLUGIN_THREW_NON_ERROR', message: 'the plugin threw a value that cannot be read', retryable: false };
    }
  };
  class HostError extends Error {
    constructor(e) { super(e.message); this.name = 'HostError'; this.code = e.code; this.retryable = e.retryable; }
  }
  let current = null;
  const call = (op, args) =>
    host.apply(undefined, [op, JSON.stringify(args)], { result: { promise: true } }).then((text) => {
      current = args.callId; // the call resumes here
      // A fetch answer is its JSON head, a newline, then the body unescaped (see fetchOp); other answers are JSON.
      const nl = text.indexOf('\n');
      const r = JSON.parse(nl < 0 ? text : text.slice(0, nl));
      if (r.error) throw new HostError(r.error);
      if (nl >= 0) r.value.body = text.slice(nl + 1);
      return r.value;
    });
  // Web globals (globals.ts); crypto.subtle works on the host through the running call's channel.
  (${INSTALL_GLOBALS_SOURCE})(hostSync, (op, args) =>
    current === null ? Promise.reject(new Error('crypto.subtle can be used inside actions and triggers only')) : call(op, { ...args, callId: current }));
  const str = (v, what) => { if (typeof v !== 'string') throw new TypeError(what + ' must be a string'); return v; };
  // console.* of the running call: calls can interleave across awaits, so the current one is the last that
  // started or resumed after a host call (see call()); a line logged while no call runs (at load) goes nowhere.
  const text = (v) => {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.stack || String(v);
    try { const j = JSON.stringify(v); return j === undefined ? String(v) : j; } catch { return String(v); }
  };
  // Log lines travel apart from the result (fire and forget); the result says how many its call sent, so the host
  // can wait for any still on their way (a call run on the host's own thread answers before they are handled).
  const sent = new Map();
  const note = (callId) => { sent.set(callId, (sent.get(callId) ?? 0) + 1); };
  const consoleLine = (level) => (...args) => {
    if (current === null) return;
    note(current);
    host.applyIgnored(undefined, ['log', JSON.stringify({ callId: current, level, message: args.map(text).join(' '), fields: null, source: 'console' })]);
  };
  const consoleObject = Object.freeze({ log: consoleLine('info'), info: consoleLine('info'), debug: consoleLine('debug'), warn: consoleLine('warn'), error: consoleLine('error') });
  Object.defineProperty(globalThis, 'console', { value: consoleObject, writable: false, configurable: false, enumerable: false });
  const makeCtx = (callId, input) => {
    const log = (level) => (message, fields) => {
      let f = null;
      try { f = fields === undefined ? null : JSON.parse(JSON.stringify(fields)); } catch { f = null; }
      note(callId);
      host.applyIgnored(undefined, ['log', JSON.stringify({ callId, level, message: String(message), fields: f })]);
    };
    return Object.freeze({
      http: Object.freeze({
        fetch: async (url, init) => {
          const i = init ?? {};
          const r = await call('fetch', {
            callId, url: String(url), method: i.method ?? 'GET', headers: i.headers ?? {},
            body: i.body === undefined || i.body === null ? null : str(i.body, 'fetch body'), timeoutMs: i.timeoutMs ?? null,
          });
          const body = r.body;
          return Object.freeze({
            status: r.status, ok: r.status >= 200 && r.status < 300, headers: freeze(r.headers), url: r.url,
            text: async () => body,
            json: async () => JSON.parse(body),
          });
        },
      }),
      secrets: freeze(input.secrets),
      store: Object.freeze({
        get: (key) => call('store.get', { callId, key: str(key, 'store key') }).then((v) => (v === null ? undefined : v.value)),
        set: (key, value) => call('store.set', { callId, key: str(key, 'store key'), value: value === undefined ? null : value }).then(() => undefined),
        delete: (key) => call('store.delete', { callId, key: str(key, 'store key') }).then(() => undefined),
      }),
      log: Object.freeze({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }),
      contact: freeze(input.contact),
      idempotencyKey: input.idempotencyKey,
      auth: Object.freeze({ accessToken: input.auth ? input.auth.accessToken : undefined }),
    });
  };
  // poll / subscribe / unsubscribe / auth test: an action's ctx without contact and idempotency key.
  const hookCtx = (callId, input) => {
    const c = makeCtx(callId, input);
    return Object.freeze({ http: c.http, secrets: c.secrets, auth: c.auth, store: c.store, log: c.log });
  };
  const triggerDeclaration = (t) => t.type === 'polling'
    ? { key: t.key, title: t.title, description: t.description, type: 'polling', intervalSeconds: t.intervalSeconds, subscribe: false, challenge: null }
    : { key: t.key, title: t.title, description: t.description, type: 'webhook', intervalSeconds: null, subscribe: typeof t.subscribe === 'function', challenge: t.challenge || null };
  const logged = (callId) => {
    const n = sent.get(callId);
    if (n === undefined) return {};
    sent.delete(callId);
    return { logged: n };
  };
  const finish = (value, callId) => {
    const count = logged(callId);
    try {
      const text = JSON.stringify({ ok: true, value: value === undefined ? null : value, ...count });
      return text === undefined ? JSON.stringify({ ok: true, value: null, ...count }) : text;
    } catch (e) {
      return JSON.stringify({ ok: false, error: { code: 'PLUGIN_OUTPUT_NOT_JSON', message: 'the result is not JSON-serializable: ' + shape(e).message, retryable: false }, ...count });
    }
  };
  const fail = (e, callId) => JSON.stringify({ ok: false, error: shape(e), ...logged(callId) });
  let plugin = null;
  const entry = {
    load() {
      const mod = globalThis.__cairn_plugin;
      const p = mod && (mod.kind === 'plugin' ? mod : mod.default);
      if (!p || p.kind !== 'plugin') throw new Error('the bundle does not export a plugin: export default definePlugin({...})');
      plugin = p;
      return JSON.stringify({
        id: p.id, name: p.name, version: p.version, description: p.description, allowedHosts: p.allowedHosts, auth: p.auth, authMethod: p.authMethod || null,
        actions: p.actions.map((a) => ({ key: a.key, title: a.title, description: a.description, props: a.props, output: a.output, timeoutMs: a.timeoutMs })),
        triggers: p.triggers.map(triggerDeclaration),
      });
    },
    async runAction(callId, key, inputJson) {
      try {
        const input = JSON.parse(inputJson);
        const action = plugin.actions.find((a) => a.key === key);
        if (!action) return fail({ code: 'PLUGIN_UNKNOWN_ACTION', message: 'no action "' + key + '" in plugin ' + plugin.id });
        current = callId;
        return finish(await action.run(makeCtx(callId, input), freeze(input.props)), callId);
      } catch (e) {
        return fail(e, callId);
      }
    },
    async runTrigger(callId, key, inputJson) {
      try {
        const input = JSON.parse(inputJson);
        const trigger = plugin.triggers.find((t) => t.key === key);
        if (!trigger) return fail({ code: 'PLUGIN_UNKNOWN_TRIGGER', message: 'no trigger "' + key + '" in plugin ' + plugin.id });
        if (typeof trigger.verify !== 'function') return fail({ code: 'PLUGIN_NOT_A_WEBHOOK', message: 'trigger "' + key + '" of plugin ' + plugin.id + ' is not a webhook trigger' });
        current = callId;
        return finish(await trigger.verify(freeze(input.request), freeze(input.secrets)), callId);
      } catch (e) {
        return fail(e, callId);
      }
    },
    async runHook(callId, inputJson) {
      try {
        const input = JSON.parse(inputJson);
        current = callId;
        const ctx = hookCtx(callId, input);
        if (input.hook === 'auth.test') {
          if (typeof plugin.authTest !== 'function') return fail({ code: 'PLUGIN_NO_AUTH_TEST', message: 'plugin ' + plugin.id + ' has no test-connection function (defineAuth({ test }))' });
          return finish((await plugin.authTest(ctx)) || {}, callId);
        }
        if (input.hook === 'options') {
          const [actionKey, prop] = String(input.key).split('/');
          const action = plugin.actions.find((a) => a.key === actionKey);
          const list = action && action.options && action.options[prop];
          if (typeof list !== 'function') return fail({ code: 'PLUGIN_NO_OPTIONS', message: 'action "' + actionKey + '" of plugin ' + plugin.id + ' lists no options for prop "' + prop + '"' });
          return finish(await list(ctx), callId);
        }
        const trigger = plugin.triggers.find((t) => t.key === input.key);
        const fn = trigger && { poll: trigger.poll, subscribe: trigger.subscribe, unsubscribe: trigger.unsubscribe }[input.hook];
        if (typeof fn !== 'function') return fail({ code: 'PLUGIN_UNKNOWN_TRIGGER', message: 'no ' + input.hook + ' hook on trigger "' + input.key + '" of plugin ' + plugin.id });
        return finish(await fn(ctx, freeze(input.arg === undefined ? null : input.arg)), callId);
      } catch (e) {
        return fail(e, callId);
      }
    },
  };
  Object.defineProperty(globalThis, '__cairn_entry', { value: Object.freeze(entry), writable: false, configurable: false, enumerable: false });
})();
`;
