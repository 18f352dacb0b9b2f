import type { EngineContext } from '../context.ts';
import { databaseTargets } from '../db/admin.ts';
import type { ActionRegistry } from '../runner/ports.ts';
import { createSandboxHost, type SandboxFetchOptions, type SandboxHost } from '../sandbox/host.ts';
import { createPluginActionRegistry } from './action-registry.ts';
import { getBundle } from './registry.ts';
import { createPluginNodeTypes, pluginCatalogEntries } from './flow-plugins.ts';
import { coreNodeType } from '../flow/node-types.ts';
import type { NodeTypeResolver } from '../flow/service.ts';
import type { NodeTypeSpec } from '../contracts/flow.ts';
import { createPluginStore } from './store.ts';
import { loadPluginHosts } from './dev-hosts.ts';
import type { TaskList } from 'graphile-worker';
import type { OnEventsIngested } from '../crm/event-hooks.ts';
import { PLUGIN_POLL_TASK, PLUGIN_TRIGGER_TASK, type PluginTriggerJob } from '../queue/jobs.ts';
import type { OAuthFetchOptions } from './oauth.ts';
import type { PluginDeps } from './hook-call.ts';
import { createPollTask } from './polling.ts';
import { createTriggerSync } from './triggers.ts';

export interface PluginRuntime {
  sandbox: SandboxHost;
  actions: ActionRegistry;
  /** For `createApp`: flow validation and the catalog see the workspace's enabled plugin actions. */
  appOptions: {
    nodeTypes: NodeTypeResolver;
    pluginCatalog: (workspaceId: string) => Promise<NodeTypeSpec[]>;
    /** The same sandbox for inbound webhook triggers (one runtime, one set of guards). */
    pluginSandbox: SandboxHost;
    /** Token-endpoint fetch options for the OAuth routes (the same test hosts and guards as the sandbox's). */
    pluginFetch: OAuthFetchOptions;
  };
  /** The plugin trigger jobs (trigger sync, polls), given the flow engine's ingestion hook. */
  tasks(onEventsIngested: OnEventsIngested): TaskList;
  close(): Promise<void>;
}

/**
 * Wires the sandbox host and the plugin action registry from the engine context: bundles from
 * `plugin_versions`, `ctx.store` in `plugin_store`, limits and the private-host switch from the config.
 * `fetch.testHosts` is for tests that run a local receiver.
 */
export function createPluginRuntime(ctx: EngineContext, opts: { secretKey?: Buffer; fetch?: SandboxFetchOptions } = {}): PluginRuntime {
  const secretKey = opts.secretKey ?? ctx.secretKey;
  const sandbox = createPluginSandbox(ctx, opts.fetch);
  const pluginFetch = pluginFetchOptions(ctx, opts.fetch);
  const deps: PluginDeps = { ctx, sandbox, fetch: pluginFetch };
  return {
    sandbox,
    actions: createPluginActionRegistry(ctx, sandbox, { secretKey, fetch: pluginFetch }),
    appOptions: { nodeTypes: createPluginNodeTypes(ctx.db, coreNodeType), pluginCatalog: (workspaceId) => pluginCatalogEntries(ctx.db, workspaceId), pluginSandbox: sandbox, pluginFetch },
    tasks: (onEventsIngested) => {
      const sync = createTriggerSync(deps);
      const poll = createPollTask(deps, onEventsIngested);
      return { [PLUGIN_TRIGGER_TASK]: async (p) => sync(p as PluginTriggerJob), [PLUGIN_POLL_TASK]: async (p) => poll(p as PluginTriggerJob) };
    },
    close: () => sandbox.close(),
  };
}

/**
 * The one way to build a plugin sandbox host: limits, bundles, `ctx.store`, the private-host switch and the
 * database's own address (never reachable, even with the switch on). Actions and webhook triggers share it.
 */
export function createPluginSandbox(ctx: EngineContext, fetch?: SandboxFetchOptions): SandboxHost {
  return createSandboxHost({
    limits: { memoryLimitMb: ctx.config.sandbox.memoryLimitMb, cpuTimeMs: ctx.config.sandbox.cpuTimeMs, wallTimeMs: ctx.config.sandbox.wallTimeMs },
    logger: ctx.logger,
    async loadBundle(ref) {
      const b = await getBundle(ctx.db, ref.workspaceId, ref.pluginId, ref.version);
      if (!b) throw new Error(`no bundle for ${ref.pluginId}@${ref.version} in this workspace`);
      return b.bundle;
    },
    storeFor: (ref) => createPluginStore(ctx.db, ctx.clock, ref.workspaceId, ref.pluginId),
    fetch: {
      allowPrivate: ctx.config.sandbox.allowPrivateHosts,
      perEngine: { maxConcurrent: ctx.config.sandbox.fetchConcurrency, maxInFlightBytes: ctx.config.sandbox.fetchBufferMb * 1024 * 1024 },
      workspaceHosts: (workspaceId) => loadPluginHosts(ctx.db, workspaceId),
      ...fetch,
      deniedTargets: [...databaseTargets(ctx.databaseUrl), ...(fetch?.deniedTargets ?? [])],
    },
  });
}

/** Where the engine itself may fetch for plugins (OAuth token endpoints): the sandbox's own guards. */
export function pluginFetchOptions(ctx: EngineContext, fetch?: SandboxFetchOptions): OAuthFetchOptions {
  return {
    testHosts: fetch?.testHosts ?? [],
    allowPrivate: fetch?.allowPrivate ?? ctx.config.sandbox.allowPrivateHosts,
    deniedTargets: [...databaseTargets(ctx.databaseUrl), ...(fetch?.deniedTargets ?? [])],
  };
}
