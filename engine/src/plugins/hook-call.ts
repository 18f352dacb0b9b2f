import type { JsonValue } from '@cairn/plugin-sdk';
import type { HookName, PluginManifest, SandboxResult } from '@cairn/plugin-sdk/host';
import type { EngineContext } from '../context.ts';
import type { SandboxHost } from '../sandbox/host.ts';
import { loadCredentials } from './credentials.ts';
import { accessFor, type OAuthFetchOptions } from './oauth.ts';

/** What the plugin parts outside the action registry (triggers, test connection, OAuth) run with. */
export interface PluginDeps {
  ctx: EngineContext;
  sandbox: SandboxHost;
  /** Token-endpoint fetches: the runtime's test hosts, private-address switch and denied targets. */
  fetch: OAuthFetchOptions;
}

/**
 * A call's credentials: the workspace's stored fields, without the OAuth client secret (only the engine uses it,
 * at the token endpoint), and the connection's access token for `oauth2` plugins.
 */
export async function callCredentials(deps: PluginDeps, workspaceId: string, manifest: PluginManifest) {
  const stored = await loadCredentials(deps.ctx.db, deps.ctx.secretKey, workspaceId, manifest.id);
  const { client_secret: _clientSecret, ...rest } = stored;
  const secrets = manifest.authMethod?.kind === 'oauth2' ? rest : stored;
  return { secrets, auth: await accessFor(deps.ctx, deps.fetch, workspaceId, manifest) };
}

/** Runs a trigger hook or the test-connection function of one plugin version with the workspace's credentials. */
export async function runPluginHook(
  deps: PluginDeps, workspaceId: string, manifest: PluginManifest, hook: HookName, key: string, arg: JsonValue, meta: Record<string, unknown> = {},
): Promise<SandboxResult<JsonValue>> {
  let creds: Awaited<ReturnType<typeof callCredentials>>;
  try {
    creds = await callCredentials(deps, workspaceId, manifest);
  } catch (err) {
    const e = err as { code?: string; message?: string; retryable?: boolean };
    return { ok: false, error: { code: e.code ?? 'PLUGIN_CREDENTIALS_FAILED', message: e.message ?? String(err), retryable: e.retryable === true } };
  }
  return deps.sandbox.runHook({ workspaceId, pluginId: manifest.id, version: manifest.version }, hook, key, { ...creds, arg, meta });
}
