import type { JsonValue } from '@cairn/plugin-sdk';
import type { PluginManifest } from '@cairn/plugin-sdk/host';
import type { EngineContext } from '../context.ts';
import { CairnError, StepFailure } from '../errors.ts';
import type { ActionInput, ActionOutcome, ActionRegistry, ExternalAction, Json } from '../runner/ports.ts';
import type { SandboxHost } from '../sandbox/host.ts';
import { loadCredentials } from './credentials.ts';
import { accessFor, type OAuthFetchOptions } from './oauth.ts';
import { parsePluginType } from './flow-plugins.ts';
import { prepareActionProps, propsOf } from './manifest.ts';
import { getInstall, getManifest } from './registry.ts';
import { createStackMapper } from './stack-mapper.ts';

/**
 * The `ActionRegistry` for `plugin:<id>/<key>` nodes: resolves the version the flow version pinned (or, for
 * a flow published before pins existed, the plugin's current version), validates the node's config against
 * the action's props schema again before every call, hands the workspace's decrypted credentials to the
 * sandbox and maps sandbox failures to step errors: a limit breach → CAIRN_ERR_PLUGIN_LIMIT (USER, not
 * retried), a plugin error → the plugin's own code (`RATE_LIMITED`), retryable as the plugin said, with its stack (in the plugin's source files when its version came with a source map);
 * either way with the call's log lines for the step.
 */
export function createPluginActionRegistry(ctx: EngineContext, sandbox: SandboxHost, opts: { secretKey: Buffer; fetch?: OAuthFetchOptions }): ActionRegistry {
  // Published versions are immutable, so their manifests can be cached forever.
  const manifests = new Map<string, Promise<PluginManifest | null>>();
  const stacks = createStackMapper(ctx.db);
  const manifestOf = (workspaceId: string, pluginId: string, version: string) => {
    const k = `${workspaceId}/${pluginId}@${version}`;
    let m = manifests.get(k);
    if (!m) {
      m = getManifest(ctx.db, workspaceId, pluginId, version);
      manifests.set(k, m);
      m.then((v) => v === null && manifests.delete(k), () => manifests.delete(k));
    }
    return m;
  };

  return {
    async resolve(type, { workspaceId, pluginPins }): Promise<ExternalAction | undefined> {
      const ref = parsePluginType(type);
      if (!ref) return undefined;
      const version = pluginPins[ref.pluginId] ?? (await getInstall(ctx.db, workspaceId, ref.pluginId))?.currentVersion;
      if (!version) return undefined;
      const manifest = await manifestOf(workspaceId, ref.pluginId, version);
      if (!manifest?.actions.some((a) => a.key === ref.key)) return undefined;
      const label = `plugin ${ref.pluginId}@${version} action ${ref.key}`;
      return {
        async run(input: ActionInput): Promise<ActionOutcome> {
          const install = await getInstall(ctx.db, workspaceId, ref.pluginId);
          if (!install?.enabled) throw new CairnError('CAIRN_ERR_STEP_FAILED', `${label} cannot run: the plugin is disabled in this workspace`);
          // Rendered templates are text: coerced to the props' declared types, defaults applied, then validated.
          const { props, problems } = prepareActionProps(manifest, ref.key, propsOf(input.config), '/config');
          if (problems.length) {
            throw new CairnError('CAIRN_ERR_STEP_FAILED', `node ${input.nodeId}: the config does not match the props schema of ${label}: ${problems[0]!.path} ${problems[0]!.message}`, { errors: problems.map((p) => ({ ...p, node_id: input.nodeId })) });
          }
          const stored = await loadCredentials(ctx.db, opts.secretKey, workspaceId, ref.pluginId);
          // An OAuth2 plugin gets the access token; the client secret is the engine's, for the token endpoint only.
          const { client_secret: _clientSecret, ...rest } = stored;
          const oauth = manifest.authMethod?.kind === 'oauth2';
          const auth = oauth ? await accessFor(ctx, opts.fetch ?? {}, workspaceId, manifest) : undefined;
          const result = await sandbox.runAction({ workspaceId, pluginId: ref.pluginId, version }, ref.key, {
            props: props as JsonValue,
            secrets: oauth ? rest : stored,
            auth,
            contact: JSON.parse(JSON.stringify(input.contact)) as JsonValue,
            idempotencyKey: input.idempotencyKey,
            meta: { flowId: input.flowId, runId: input.runId, nodeId: input.nodeId, attempt: input.attempt },
            signal: input.signal,
          });
          const logs = (result.logs ?? []) as unknown as Json[];
          if (result.ok) return { output: result.value as Json, logs };
          const e = result.error;
          if (e.limit) throw new StepFailure('CAIRN_ERR_PLUGIN_LIMIT', e.message, { retryable: false, logs });
          // The plugin's (or the host's) own code is the step's: flows branch on it after the `error` edge.
          throw new StepFailure(e.code, e.message, { retryable: e.retryable, logs, stack: e.stack && (await stacks.map({ workspaceId, pluginId: ref.pluginId, version }, e.stack)), retryAfterMs: e.retryAfterMs });
        },
      };
    },
  };
}
