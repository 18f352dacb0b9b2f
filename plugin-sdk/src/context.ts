import type { JsonValue } from './schema.ts';

/**
 * What an action's `run` is given. Everything reaches the outside world through the host: there is no
 * `fetch`, `process`, `require` or timer inside the sandbox, only these.
 */

/**
 * Request options of {@link PluginHttp.fetch}.
 *
 * @example
 * const init: HttpRequestInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' };
 */
export interface HttpRequestInit {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  headers?: Record<string, string>;
  /** Text body; encode JSON with `JSON.stringify` and forms with `formEncode`. */
  body?: string;
  /** Shorter than the host's own limit if set. */
  timeoutMs?: number;
}

/**
 * A response, already read in full by the host (bodies are capped in size).
 *
 * @example
 * const res = await ctx.http.fetch('https://api.example.com/x');
 * if (res.ok) return await res.json();
 */
export interface HttpResponse {
  status: number;
  ok: boolean;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  /** The final URL after redirects. */
  url: string;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/**
 * HTTP through the host: only to the plugin's `allowedHosts`, never to private addresses, with a timeout and
 * a response size cap. Redirects are followed by the host and each hop is checked again.
 *
 * @example
 * await ctx.http.fetch('https://hooks.slack.com/services/T/B/X', { method: 'POST', body: JSON.stringify({ text: 'hi' }) });
 */
export interface PluginHttp {
  fetch(url: string, init?: HttpRequestInit): Promise<HttpResponse>;
}

/**
 * A small persistent key-value store, scoped to this plugin and this workspace (values are JSON, at most 64 KiB each).
 *
 * @example
 * const last = (await ctx.store.get('cursor')) ?? 0;
 * await ctx.store.set('cursor', Number(last) + 1);
 */
export interface PluginStore {
  get(key: string): Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Structured logging, bridged to the engine's logger with plugin, run and node attached.
 *
 * @example
 * ctx.log.info('message sent', { channel: '#sales' });
 */
export interface PluginLog {
  debug(message: string, fields?: Record<string, JsonValue>): void;
  info(message: string, fields?: Record<string, JsonValue>): void;
  warn(message: string, fields?: Record<string, JsonValue>): void;
  error(message: string, fields?: Record<string, JsonValue>): void;
}

/**
 * A read-only snapshot of the contact the run is for, as it was when the step started.
 *
 * @example
 * const name = String(ctx.contact.properties.first_name ?? 'there');
 */
export interface ContactSnapshot {
  readonly id: string;
  readonly external_id: string | null;
  readonly email: string | null;
  readonly properties: Readonly<Record<string, JsonValue>>;
  readonly tags: readonly string[];
  readonly [key: string]: unknown;
}

/**
 * The context of one action call.
 *
 * @example
 * run: async (ctx, props) => {
 *   const res = await ctx.http.fetch(props.url, { method: 'POST', headers: { 'idempotency-key': ctx.idempotencyKey } });
 *   return { status: res.status };
 * }
 */
export interface ActionContext {
  http: PluginHttp;
  /** This plugin's credentials for this workspace (fields of the plugin's `auth` schema). */
  secrets: Readonly<Record<string, string | undefined>>;
  store: PluginStore;
  log: PluginLog;
  contact: ContactSnapshot;
  /** `<run id>:<node id>`: the same on every retry of the step; send it to APIs that deduplicate. */
  idempotencyKey: string;
  /** The OAuth2 access token of this workspace's connection (plugins with an `oauth2` auth). */
  auth: PluginAuthState;
}

/**
 * An inbound webhook request as a trigger's `verify` sees it: the raw body, exactly as received.
 *
 * @example
 * const sig = request.headers['stripe-signature'];
 */
export interface TriggerRequest {
  method: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  /** The raw body text (signatures are computed over it). */
  body: string;
  query: Readonly<Record<string, string>>;
}

/**
 * An event a trigger produces; the same shape as `POST /v1/events`.
 *
 * @example
 * const e: TriggerEvent = { type: 'purchase.completed', contact: { email: 'a@b.co' }, properties: { amount: 42 } };
 */
export interface TriggerEvent {
  type: string;
  contact: { external_id?: string; email?: string; properties?: Record<string, JsonValue> };
  properties?: Record<string, JsonValue>;
  occurred_at?: string;
  idempotency_key?: string;
}

/**
 * What a plugin sees of its OAuth2 connection: the access token only (never the refresh token). The engine
 * refreshes it before it expires, and once more if the vendor answers 401 to a request that carried it (the
 * request is then repeated with the new token). `undefined` for plugins without an `oauth2` auth.
 *
 * @example
 * await ctx.http.fetch(url, { headers: { authorization: `Bearer ${ctx.auth.accessToken}` } });
 */
export interface PluginAuthState {
  readonly accessToken: string | undefined;
}

/**
 * The context of a trigger hook (`poll`, `subscribe`, `unsubscribe`): like an action's, without a contact.
 *
 * @example
 * poll: async (ctx, cursor) => {
 *   const res = await ctx.http.fetch(`https://api.example.com/items?after=${cursor ?? 0}`, { headers: { authorization: `Bearer ${ctx.auth.accessToken}` } });
 *   return { items: [], cursor };
 * }
 */
export interface TriggerContext {
  http: PluginHttp;
  secrets: Readonly<Record<string, string | undefined>>;
  auth: PluginAuthState;
  store: PluginStore;
  log: PluginLog;
}
