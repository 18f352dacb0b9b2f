import type { TriggerContext, TriggerEvent } from './context.ts';
import type { JsonValue } from './schema.ts';

/**
 * Trigger shapes beyond a plain webhook `verify`: polling triggers (the engine calls `poll` on an interval and
 * keeps the cursor and the ids it has seen), and the hooks of webhook triggers that the engine runs when a flow
 * that starts on them is published (`subscribe`) or archived (`unsubscribe`), plus vendor challenge handshakes.
 */

const SNAKE = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * One item a poll found. `id` is the vendor's stable id: the engine turns each id into an event once per flow,
 * however often a poll returns it (retries, overlapping cursors, restarts).
 *
 * @example
 * const item: PolledItem = { id: '501', type: 'hubspot.contact.created', contact: { email: 'a@b.co' } };
 */
export interface PolledItem extends TriggerEvent {
  id: string;
}

/**
 * What `poll` returns: the new items (oldest first) and the cursor for the next poll (any JSON value).
 *
 * @example
 * const r: PollResult = { items: [], cursor: '2026-01-01T00:00:00Z' };
 */
export interface PollResult {
  items: PolledItem[];
  cursor: JsonValue;
}

/**
 * The definition given to {@link definePollingTrigger}.
 *
 * @example
 * const def: PollingTriggerDefinition = { key: 'new_deal', title: 'New deal', intervalSeconds: 300, poll: async () => ({ items: [], cursor: null }) };
 */
export interface PollingTriggerDefinition {
  key: string;
  title: string;
  description?: string;
  /** Seconds between polls (1 to 86,400); the engine polls no more often than this, per flow. */
  intervalSeconds: number;
  /**
   * Lists what is new since `cursor` (`null` on the first poll of a flow). Return the items and the next cursor;
   * the engine stores the cursor only together with the items' events, in one transaction.
   */
  poll(ctx: TriggerContext, cursor: JsonValue | null): Promise<PollResult> | PollResult;
}

/**
 * A polling trigger after {@link definePollingTrigger}.
 *
 * @example
 * const triggers: PluginPollingTrigger[] = [newDeal];
 */
export interface PluginPollingTrigger {
  readonly kind: 'trigger';
  readonly type: 'polling';
  readonly key: string;
  readonly title: string;
  readonly description: string;
  readonly intervalSeconds: number;
  poll: PollingTriggerDefinition['poll'];
}

/**
 * Defines a polling trigger: for a vendor without webhooks, the engine calls `poll(ctx, cursor)` every
 * `intervalSeconds` for each active flow that starts on it, and records each new item (deduplicated by `id`)
 * as an event of the flow's workspace.
 *
 * @example
 * export const newContact = definePollingTrigger({
 *   key: 'new_contact',
 *   title: 'New contact',
 *   intervalSeconds: 300,
 *   poll: async (ctx, cursor) => {
 *     const since = typeof cursor === 'string' ? cursor : '1970-01-01T00:00:00Z';
 *     const res = await ctx.http.fetch(`https://api.example.com/contacts?created_after=${encodeURIComponent(since)}`);
 *     const rows = (await res.json()) as { id: string; email: string; created_at: string }[];
 *     return {
 *       items: rows.map((r) => ({ id: r.id, type: 'example.contact.created', contact: { email: r.email } })),
 *       cursor: rows.at(-1)?.created_at ?? since,
 *     };
 *   },
 * });
 */
export function definePollingTrigger(def: PollingTriggerDefinition): PluginPollingTrigger {
  if (!SNAKE.test(def.key)) throw new TypeError(`trigger key "${def.key}" must be snake_case`);
  if (typeof def.poll !== 'function') throw new TypeError(`trigger "${def.key}" needs a poll(ctx, cursor) function`);
  if (!(Number.isInteger(def.intervalSeconds) && def.intervalSeconds >= 1 && def.intervalSeconds <= 86_400)) {
    throw new TypeError(`trigger "${def.key}": intervalSeconds must be an integer from 1 to 86400`);
  }
  return Object.freeze({
    kind: 'trigger' as const,
    type: 'polling' as const,
    key: def.key,
    title: def.title,
    description: def.description ?? '',
    intervalSeconds: def.intervalSeconds,
    poll: def.poll,
  });
}

/**
 * What `subscribe` is given: the URL the vendor must call (this workspace's webhook URL of the trigger).
 *
 * @example
 * subscribe: async (ctx, { webhookUrl }) => ({ id: await createVendorHook(ctx, webhookUrl) })
 */
export interface SubscribeInput {
  webhookUrl: string;
}

/**
 * What `unsubscribe` is given: the same URL and what `subscribe` returned (e.g. the vendor's subscription id).
 *
 * @example
 * unsubscribe: async (ctx, { subscription }) => { await deleteVendorHook(ctx, String((subscription as { id: string }).id)); }
 */
export interface UnsubscribeInput {
  webhookUrl: string;
  subscription: JsonValue;
}

/**
 * A vendor's challenge handshake, answered by the engine before `verify` runs: `GET` echoes the query parameter
 * `param` as text (e.g. `hub.challenge`); `POST` echoes the JSON body's `field` as text when every entry of
 * `match` equals the body's (Slack: `{ method: 'POST', match: { type: 'url_verification' }, field: 'challenge' }`).
 *
 * @example
 * const c: TriggerChallenge = { method: 'GET', param: 'challenge' };
 */
export type TriggerChallenge =
  | { method: 'GET'; param: string }
  | { method: 'POST'; match: Readonly<Record<string, string>>; field: string };

/**
 * The optional webhook-trigger hooks of `defineTrigger`.
 *
 * @example
 * const hooks: WebhookTriggerHooks = { challenge: { method: 'GET', param: 'challenge' } };
 */
export interface WebhookTriggerHooks {
  /** Registers `webhookUrl` with the vendor when a flow starting on this trigger is published; returns what `unsubscribe` needs. */
  subscribe?(ctx: TriggerContext, input: SubscribeInput): Promise<JsonValue> | JsonValue;
  /** Removes the registration when the flow is archived. */
  unsubscribe?(ctx: TriggerContext, input: UnsubscribeInput): Promise<void> | void;
  challenge?: TriggerChallenge;
}

/** Checks the hooks of a webhook trigger definition (called by `defineTrigger`). */
export function checkWebhookHooks(key: string, def: WebhookTriggerHooks): void {
  if (def.subscribe !== undefined && typeof def.subscribe !== 'function') throw new TypeError(`trigger "${key}": subscribe must be a function`);
  if (def.unsubscribe !== undefined && typeof def.unsubscribe !== 'function') throw new TypeError(`trigger "${key}": unsubscribe must be a function`);
  if (!!def.subscribe !== !!def.unsubscribe) throw new TypeError(`trigger "${key}": subscribe and unsubscribe go together`);
  const c = def.challenge;
  if (c === undefined) return;
  const ok = c.method === 'GET' ? typeof c.param === 'string' && c.param.length > 0
    : c.method === 'POST' && typeof c.field === 'string' && c.field.length > 0 && !!c.match && typeof c.match === 'object';
  if (!ok) throw new TypeError(`trigger "${key}": challenge must be { method: 'GET', param } or { method: 'POST', match, field }`);
}
