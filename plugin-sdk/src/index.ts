/**
 * The Cairn plugin SDK: what plugin code imports. Nothing here imports Node or the engine, so a bundle of a
 * plugin runs inside the engine's isolated-vm sandbox unchanged.
 */
export { definePlugin, defineAction, defineTrigger } from './define.ts';
export type { Plugin, PluginDefinition, PluginAction, ActionDefinition, OptionChoice, PluginTrigger, TriggerDefinition } from './define.ts';
export type {
  ActionContext,
  PluginHttp,
  HttpRequestInit,
  HttpResponse,
  PluginStore,
  PluginLog,
  ContactSnapshot,
  TriggerRequest,
  TriggerEvent,
  TriggerContext,
  PluginAuthState,
} from './context.ts';
export { defineAuth } from './auth.ts';
export type { AuthDefinition, AuthMethodManifest, AuthTestContext, AuthTestResult, OAuth2Settings, PluginAuth } from './auth.ts';
export { definePollingTrigger } from './triggers.ts';
export type {
  PluginPollingTrigger, PollingTriggerDefinition, PolledItem, PollResult, SubscribeInput, UnsubscribeInput, TriggerChallenge, WebhookTriggerHooks,
} from './triggers.ts';
export { PluginError, httpError, retryAfterMs } from './errors.ts';
export type { PluginErrorOptions, PluginErrorShape } from './errors.ts';
export type { JsonSchema, JsonSchemaType, JsonValue, FromSchema } from './schema.ts';
export { base64Encode, basicAuth, formEncode, hmacSha256Hex, sha256Hex, timingSafeEqual } from './encoding.ts';
