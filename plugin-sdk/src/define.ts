import type { ActionContext, TriggerContext, TriggerEvent, TriggerRequest } from './context.ts';
import type { FromSchema, JsonSchema } from './schema.ts';
import type { AuthMethodManifest, PluginAuth } from './auth.ts';
import { checkWebhookHooks, type PluginPollingTrigger, type TriggerChallenge, type WebhookTriggerHooks } from './triggers.ts';

/**
 * The author API: typed, declarative objects whose factories check the shape and fill defaults. A plugin
 * module's default export is the result of `definePlugin`; the build turns it into `manifest.json`.
 */

const SNAKE = /^[a-z][a-z0-9_]{0,62}$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$/;

/**
 * The definition of one action, as passed to {@link defineAction}.
 *
 * @example
 * const def: ActionDefinition<{ type: 'object'; properties: {} }> = {
 *   key: 'ping', title: 'Ping', description: 'Does nothing', props: { type: 'object', properties: {} },
 *   run: async () => ({ pong: true }),
 * };
 */
export interface ActionDefinition<P extends JsonSchema = JsonSchema, O = unknown> {
  /** snake_case, never changes once published: flows name it as `plugin:<plugin id>/<key>`. */
  key: string;
  title: string;
  description: string;
  /** JSON Schema of the node's config; the canvas builds its form from it and the engine validates it. */
  props: P;
  /** JSON Schema of what `run` returns (documentation and validation of the step output). */
  output?: JsonSchema;
  /**
   * Wall-clock limit of one run in milliseconds (100 to 600,000); the engine's own limit caps it (10 s by default,
   * `CAIRN_SANDBOX_WALL_MS`). Fetches time out 0.5 s before it, so a slow vendor is a retryable FETCH_TIMEOUT.
   */
  timeoutMs?: number;
  /**
   * Dynamic options: per prop name, a function listing its choices (e.g. a CRM's pipelines), run sandboxed with the
   * workspace's credentials when the builder's node form opens (`POST /v1/plugins/{id}/actions/{key}/options/{prop}`)
   * and shown as a dropdown. At most 1,000 choices; `value` a string or number, `label` up to 200 characters.
   */
  options?: Readonly<Record<string, (ctx: TriggerContext) => Promise<OptionChoice[]> | OptionChoice[]>>;
  run(ctx: ActionContext, props: FromSchema<P>): Promise<O> | O;
}

/**
 * One choice of a dynamic-options function (`defineAction({ options })`).
 *
 * @example
 * const choice: OptionChoice = { value: '42', label: 'Sales pipeline' };
 */
export interface OptionChoice {
  value: string | number;
  label: string;
}

/**
 * An action after {@link defineAction}.
 *
 * @example
 * const actions: PluginAction[] = [sendMessage];
 */
export interface PluginAction {
  readonly kind: 'action';
  readonly key: string;
  readonly title: string;
  readonly description: string;
  readonly props: JsonSchema;
  readonly output: JsonSchema | null;
  readonly timeoutMs: number | null;
  readonly options: Readonly<Record<string, (ctx: TriggerContext) => Promise<OptionChoice[]> | OptionChoice[]>>;
  run(ctx: ActionContext, props: never): Promise<unknown> | unknown;
}

/**
 * Defines an action. `props` is inferred from the schema, so `run` is type-checked against it.
 *
 * @example
 * export const sendMessage = defineAction({
 *   key: 'send_message',
 *   title: 'Send a message',
 *   description: 'Posts text to a webhook',
 *   props: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
 *   run: async (ctx, props) => {
 *     const res = await ctx.http.fetch(ctx.secrets.webhook_url!, { method: 'POST', body: JSON.stringify({ text: props.text }) });
 *     return { status: res.status };
 *   },
 * });
 */
export function defineAction<const P extends JsonSchema, O>(def: ActionDefinition<P, O>): PluginAction {
  if (!SNAKE.test(def.key)) throw new TypeError(`action key "${def.key}" must be snake_case (a-z, 0-9, _), starting with a letter`);
  if (typeof def.run !== 'function') throw new TypeError(`action "${def.key}" needs a run(ctx, props) function`);
  if (def.props?.type !== 'object') throw new TypeError(`action "${def.key}": props must be a JSON Schema with type "object"`);
  if (def.timeoutMs !== undefined && !(Number.isInteger(def.timeoutMs) && def.timeoutMs >= 100 && def.timeoutMs <= 600_000)) {
    throw new TypeError(`action "${def.key}": timeoutMs must be an integer from 100 to 600000 (milliseconds)`);
  }
  return Object.freeze({
    kind: 'action' as const,
    key: def.key,
    title: def.title,
    description: def.description,
    props: def.props,
    output: def.output ?? null,
    timeoutMs: def.timeoutMs ?? null,
    options: Object.freeze({ ...(def.options ?? {}) }),
    run: def.run as PluginAction['run'],
  });
}

/**
 * The definition of a webhook-style trigger, as passed to {@link defineTrigger}.
 *
 * @example
 * const def: TriggerDefinition = { key: 'hook', title: 'Hook', verify: () => [] };
 */
export interface TriggerDefinition extends WebhookTriggerHooks {
  key: string;
  title: string;
  description?: string;
  /**
   * Checks the request's authenticity with this workspace's secrets and returns the events it carries
   * (possibly none). Throw a `PluginError` to reject the request.
   */
  verify(request: TriggerRequest, secrets: Readonly<Record<string, string | undefined>>): Promise<TriggerEvent[]> | TriggerEvent[];
}

/**
 * A trigger after {@link defineTrigger}.
 *
 * @example
 * const triggers: PluginTrigger[] = [checkoutCompleted];
 */
export interface PluginTrigger extends Readonly<Omit<TriggerDefinition, 'description' | 'challenge'>> {
  readonly kind: 'trigger';
  readonly type: 'webhook';
  readonly description: string;
  readonly challenge: TriggerChallenge | null;
}

/**
 * Defines a webhook trigger: the engine passes each inbound request to `verify`, which authenticates it and
 * maps it to Cairn events.
 *
 * @example
 * export const hook = defineTrigger({
 *   key: 'order_paid',
 *   title: 'Order paid',
 *   verify: (request, secrets) => {
 *     if (request.headers['x-token'] !== secrets.token) throw new PluginError('BAD_TOKEN', 'token mismatch');
 *     const body = JSON.parse(request.body);
 *     return [{ type: 'order.paid', contact: { email: body.email } }];
 *   },
 * });
 */
export function defineTrigger(def: TriggerDefinition): PluginTrigger {
  if (!SNAKE.test(def.key)) throw new TypeError(`trigger key "${def.key}" must be snake_case`);
  if (typeof def.verify !== 'function') throw new TypeError(`trigger "${def.key}" needs a verify(request, secrets) function`);
  checkWebhookHooks(def.key, def);
  return Object.freeze({
    kind: 'trigger' as const, type: 'webhook' as const, key: def.key, title: def.title, description: def.description ?? '', verify: def.verify,
    subscribe: def.subscribe, unsubscribe: def.unsubscribe, challenge: def.challenge ?? null,
  });
}

/**
 * The definition of a plugin, as passed to {@link definePlugin}.
 *
 * @example
 * const def: PluginDefinition = { id: 'acme', name: 'Acme', version: '1.0.0', description: 'Acme CRM', allowedHosts: ['api.acme.com'], actions: [] };
 */
export interface PluginDefinition {
  /** snake_case, never changes once published. */
  id: string;
  name: string;
  /** Semantic version; a published version is immutable. */
  version: string;
  description: string;
  /**
   * Hosts `ctx.http.fetch` may reach: `api.example.com`, `*.example.com` (any subdomain), optionally with
   * `:port`. Everything else is refused.
   */
  allowedHosts: readonly string[];
  /**
   * How the plugin authenticates: `defineAuth({ kind: 'api_key' | 'basic' | 'oauth2', … })`, or a JSON Schema
   * (type object, string properties) of the credential fields a workspace stores.
   */
  auth?: JsonSchema | PluginAuth;
  actions: readonly PluginAction[];
  triggers?: readonly (PluginTrigger | PluginPollingTrigger)[];
}

/**
 * A plugin after {@link definePlugin}: what a plugin module exports by default.
 *
 * @example
 * export default definePlugin({ id: 'acme', name: 'Acme', version: '1.0.0', description: 'Acme CRM', allowedHosts: ['api.acme.com'], actions: [createLead] });
 */
export interface Plugin {
  readonly kind: 'plugin';
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly allowedHosts: readonly string[];
  /** The credential fields' JSON Schema. */
  readonly auth: JsonSchema | null;
  /** The auth method (from `defineAuth`), or null for a plain credentials schema. */
  readonly authMethod: AuthMethodManifest | null;
  /** The test-connection function of `defineAuth`, if any. */
  readonly authTest: PluginAuth['test'];
  readonly actions: readonly PluginAction[];
  readonly triggers: readonly (PluginTrigger | PluginPollingTrigger)[];
}

/**
 * Defines a plugin. Checks ids, the version and that action and trigger keys are unique.
 *
 * @example
 * export default definePlugin({
 *   id: 'acme',
 *   name: 'Acme CRM',
 *   version: '1.0.0',
 *   description: 'Creates leads in Acme',
 *   allowedHosts: ['api.acme.com'],
 *   auth: { type: 'object', properties: { api_key: { type: 'string' } }, required: ['api_key'] },
 *   actions: [createLead],
 * });
 */
export function definePlugin(def: PluginDefinition): Plugin {
  if (!SNAKE.test(def.id)) throw new TypeError(`plugin id "${def.id}" must be snake_case (a-z, 0-9, _), starting with a letter`);
  if (!SEMVER.test(def.version)) throw new TypeError(`plugin version "${def.version}" must be a semantic version such as 1.0.0`);
  if (!Array.isArray(def.allowedHosts)) throw new TypeError('allowedHosts must be a list of host names');
  const keys = new Set<string>();
  for (const a of [...def.actions, ...(def.triggers ?? [])]) {
    if (keys.has(a.key)) throw new TypeError(`plugin "${def.id}" defines "${a.key}" twice`);
    keys.add(a.key);
  }
  return Object.freeze({
    kind: 'plugin' as const,
    id: def.id,
    name: def.name,
    version: def.version,
    description: def.description,
    allowedHosts: Object.freeze([...def.allowedHosts]),
    auth: isPluginAuth(def.auth) ? def.auth.schema : (def.auth ?? null),
    authMethod: isPluginAuth(def.auth) ? def.auth.method : null,
    authTest: isPluginAuth(def.auth) ? def.auth.test : null,
    actions: Object.freeze([...def.actions]),
    triggers: Object.freeze([...(def.triggers ?? [])]),
  });
}

function isPluginAuth(a: JsonSchema | PluginAuth | undefined): a is PluginAuth {
  return !!a && (a as { kind?: unknown }).kind === 'auth';
}
