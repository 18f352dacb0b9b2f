/**
 * The sandbox host: Node + isolated-vm code that loads plugin bundles. Used by the engine
 * (`engine/src/sandbox`) and by `@cairn/plugin-sdk/testing`; plugin code never imports it (the build refuses).
 */
export { PluginIsolate } from './plugin-isolate.ts';
export type {
  SandboxLimits,
  LimitKind,
  PluginManifest,
  ActionManifest,
  PluginStoreBackend,
  HostServices,
  ActionCall,
  SandboxResult,
  LogLevel,
  CallLogLine,
  CallAuth,
  HookCall,
  HookName,
  TriggerManifest,
} from './plugin-isolate.ts';
export { guardedFetch, isPrivateAddress, resolveAllowed, FetchError } from './net-guard.ts';
export { FetchBudget, DEFAULT_CALL_FETCH_CAPS, DEFAULT_ENGINE_FETCH_CAPS } from './fetch-budget.ts';
export type { FetchCaps } from './fetch-budget.ts';
export type { FetchPolicy, FetchRequest, FetchResult, ByteMeter } from './net-guard.ts';
export { breathe, SLICE_MS } from './slice.ts';
export { createRedactor, REDACTED, MIN_SECRET_LENGTH } from './redact.ts';
export { BUNDLE_FILENAME, MAX_SOURCE_MAP_BYTES, mapStack, parseSourceMap } from './source-map.ts';
export type { Redactor } from './redact.ts';
export { checkOptionChoices, MAX_OPTION_CHOICES, MAX_OPTION_LABEL, MAX_OPTION_VALUE } from './options.ts';
export type { CheckedChoice } from './options.ts';
