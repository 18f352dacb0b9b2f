import { deleteCredentials } from '../plugins/credentials.ts';
import { runPluginHook } from '../plugins/hook-call.ts';
import { completeOAuth, oauthStatus, revokeOAuth, startOAuth } from '../plugins/oauth.ts';
import { getInstall, getManifest } from '../plugins/registry.ts';
import { createPluginSandbox, pluginFetchOptions } from '../plugins/runtime.ts';
import { CairnError, notFound } from '../errors.ts';
import { checkOptionChoices } from '@cairn/plugin-sdk/host';
import type { RouteGroup } from './route-groups.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;
const PLUGIN_ID = /^[a-z][a-z0-9_]{0,62}$/;

function pluginId(params: { id: string }): string {
  if (!PLUGIN_ID.test(params.id)) throw notFound(`plugin ${params.id}`);
  return params.id;
}

const oauthStatusSchema = {
  type: 'object', required: ['connected', 'expires_at', 'scopes', 'connected_at', 'refreshed_at'],
  properties: {
    connected: { type: 'boolean' },
    expires_at: { type: ['string', 'null'], format: 'date-time', description: "when the access token expires (it is refreshed a minute before)" },
    scopes: { type: 'array', items: { type: 'string' } },
    connected_at: { type: ['string', 'null'], format: 'date-time' },
    refreshed_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

/**
 * A plugin's connection to its vendor (docs/plugins.md §6): the engine-hosted OAuth2 authorization-code flow
 * (start, the public callback, status), the plugin's test-connection function, and deleting credentials (which
 * revokes OAuth2 tokens at the provider first). Tokens and secrets are never in an answer.
 */
export const pluginAuthRoutes: RouteGroup = async (app, { ctx, pluginSandbox, pluginFetch }) => {
  const sandbox = pluginSandbox ?? createPluginSandbox(ctx);
  if (!pluginSandbox) app.addHook('onClose', async () => sandbox.close());
  const fetchOpts = pluginFetch ?? pluginFetchOptions(ctx);
  const builderPage = (query: Record<string, string>) => `${ctx.config.publicUrl}/plugins?${new URLSearchParams(query).toString()}`;

  app.post('/plugins/:id/oauth/start', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'startPluginOAuth', tags: ['plugins'], params: idParams,
      summary: "Start connecting an OAuth2 plugin: the provider's authorize URL to send the browser to",
      description: 'Needs the workspace\'s OAuth client stored first (PUT credentials with client_id and client_secret). The URL carries a sealed `state` valid for 10 minutes and, unless the plugin turned it off, a PKCE challenge; the provider sends the browser back to GET /v1/oauth/callback.',
      response: { 200: { type: 'object', required: ['authorize_url', 'redirect_uri', 'expires_at'], properties: { authorize_url: { type: 'string' }, redirect_uri: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' } } } },
    },
  }, async (request) => {
    const id = pluginId(request.params);
    const r = await startOAuth(ctx, request.auth!.workspaceId, id);
    request.log.info({ workspaceId: request.auth!.workspaceId, pluginId: id }, 'plugin OAuth started');
    return { ...r, redirect_uri: `${ctx.config.publicUrl}/v1/oauth/callback` };
  });

  app.get('/oauth/callback', {
    config: { public: true },
    schema: {
      operationId: 'pluginOAuthCallback', tags: ['plugins'], security: [],
      summary: 'Where the OAuth2 provider sends the browser back: exchanges the code, stores the tokens, redirects to the builder',
      description: 'Public: the sealed `state` says which workspace and plugin. Redirects to the builder\'s Plugins page with `connected=<plugin id>`, or with `oauth_error=<code>` when the provider refused or the exchange failed. A `state` this engine did not issue (or older than 10 minutes) is a 400.',
      querystring: {
        type: 'object', required: ['state'],
        properties: {
          state: { type: 'string', maxLength: 4000 }, code: { type: 'string', maxLength: 4000 },
          error: { type: 'string', maxLength: 200 }, error_description: { type: 'string', maxLength: 2000 },
        },
      },
      response: { 302: { description: 'to the builder\'s Plugins page', headers: { Location: { type: 'string', description: 'the builder URL' } } } },
    },
  }, async (request, reply) => {
    const q = request.query;
    try {
      const { workspaceId, pluginId: id } = await completeOAuth(ctx, fetchOpts, q);
      request.log.info({ workspaceId, pluginId: id }, 'plugin OAuth connected');
      return reply.header('cache-control', 'no-store').redirect(builderPage({ connected: id }), 302);
    } catch (err) {
      const e = err as { code?: string; workspaceId?: string; pluginId?: string };
      if (err instanceof CairnError || !e.pluginId) throw err;
      request.log.warn({ workspaceId: e.workspaceId, pluginId: e.pluginId, code: e.code }, 'plugin OAuth failed');
      return reply.header('cache-control', 'no-store').redirect(builderPage({ plugin: e.pluginId, oauth_error: e.code ?? 'OAUTH_FAILED' }), 302);
    }
  });

  app.get('/plugins/:id/oauth', {
    config: { area: 'workspace' },
    schema: { operationId: 'getPluginOAuth', tags: ['plugins'], summary: 'Whether the OAuth2 plugin is connected, and until when its token runs (never a token)', params: idParams, response: { 200: oauthStatusSchema } },
  }, async (request) => {
    const id = pluginId(request.params);
    if (!(await getInstall(ctx.db, request.auth!.workspaceId, id))) throw notFound(`plugin ${id}`);
    return oauthStatus(ctx.db, request.auth!.workspaceId, id);
  });

  app.post('/plugins/:id/credentials/test', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'testPluginCredentials', tags: ['plugins'], params: idParams,
      summary: "Run the plugin's test-connection function with this workspace's credentials",
      description: 'Answers 200 either way: `ok` true with the account the plugin reached, or false with the plugin\'s error code and its message (credential values redacted). 422 if the plugin has no test function.',
      response: {
        200: {
          type: 'object', required: ['ok'],
          properties: { ok: { type: 'boolean' }, account: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  }, async (request) => {
    const id = pluginId(request.params);
    const { workspaceId } = request.auth!;
    const install = await getInstall(ctx.db, workspaceId, id);
    if (!install) throw notFound(`plugin ${id}`);
    const manifest = (await getManifest(ctx.db, workspaceId, id, install.currentVersion))!;
    if (!manifest.authMethod?.test) throw new CairnError('CAIRN_ERR_UNPROCESSABLE', `plugin ${id}@${manifest.version} has no test-connection function (defineAuth({ test }))`);
    const r = await runPluginHook({ ctx, sandbox, fetch: fetchOpts }, workspaceId, manifest, 'auth.test', '', null);
    request.log.info({ workspaceId, pluginId: id, ok: r.ok, code: r.ok ? undefined : r.error.code }, 'plugin connection tested');
    if (!r.ok) return { ok: false, code: r.error.code, message: r.error.message.slice(0, 1000) };
    const account = (r.value as { account?: unknown } | null)?.account;
    return { ok: true, ...(typeof account === 'string' ? { account: account.slice(0, 200) } : {}) };
  });

  app.post('/plugins/:id/actions/:key/options/:prop', {
    config: { area: 'flows' },
    schema: {
      operationId: 'listPluginOptions', tags: ['plugins'],
      params: {
        type: 'object', required: ['id', 'key', 'prop'],
        properties: { id: { type: 'string', maxLength: 100 }, key: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' }, prop: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,99}$' } },
      },
      body: { type: ['object', 'null'], additionalProperties: false, properties: { version: { type: 'string', maxLength: 100, description: "the plugin version (the node's plugin_version); default: the current one" } } },
      summary: "Run an action's dynamic-options function for one prop, with this workspace's credentials (admin, editor)",
      description: 'The choices for a dropdown in the node form: at most 1,000 `{ value, label }`. A plugin failure answers 200 with `ok` false, its code and its message (credential values redacted); 422 if the action lists no options for the prop.',
      response: {
        200: {
          type: 'object', required: ['ok'],
          properties: {
            ok: { type: 'boolean' },
            choices: { type: 'array', items: { type: 'object', required: ['value', 'label'], properties: { value: { type: ['string', 'number'] }, label: { type: 'string' } } } },
            code: { type: 'string' }, message: { type: 'string' },
          },
        },
      },
    },
  }, async (request) => {
    const id = pluginId(request.params);
    const { key, prop } = request.params;
    const { workspaceId } = request.auth!;
    const install = await getInstall(ctx.db, workspaceId, id);
    if (!install) throw notFound(`plugin ${id}`);
    const version = (request.body as { version?: string } | null)?.version ?? install.currentVersion;
    const manifest = await getManifest(ctx.db, workspaceId, id, version);
    if (!manifest) throw notFound(`plugin ${id}@${version}`);
    if (!manifest.actions.some((a) => a.key === key)) throw notFound(`action ${key} of plugin ${id}@${version}`);
    const r = await runPluginHook({ ctx, sandbox, fetch: fetchOpts }, workspaceId, manifest, 'options', `${key}/${prop}`, null);
    if (!r.ok && r.error.code === 'PLUGIN_NO_OPTIONS') throw new CairnError('CAIRN_ERR_UNPROCESSABLE', r.error.message);
    if (!r.ok) return { ok: false, code: r.error.code, message: r.error.message.slice(0, 1000) };
    const checked = checkOptionChoices(r.value);
    if (!checked.ok) return { ok: false, code: 'PLUGIN_BAD_OPTIONS', message: checked.message };
    return { ok: true, choices: checked.choices };
  });

  app.delete('/plugins/:id/credentials', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'deletePluginCredentials', tags: ['plugins'], params: idParams,
      summary: "Delete this workspace's credentials for the plugin; an OAuth2 connection is revoked at the provider first",
      response: { 200: { type: 'object', required: ['deleted', 'revoked'], properties: { deleted: { type: 'boolean', description: 'there were credentials or tokens' }, revoked: { type: 'boolean', description: 'OAuth2: the provider\'s revocation endpoint accepted the token' } } } },
    },
  }, async (request) => {
    const id = pluginId(request.params);
    const { workspaceId } = request.auth!;
    if (!(await getInstall(ctx.db, workspaceId, id))) throw notFound(`plugin ${id}`);
    // Revoke while the client credentials are still there (the revocation request authenticates with them).
    const { revoked, connected } = await revokeOAuth(ctx, fetchOpts, workspaceId, id);
    const deleted = await deleteCredentials(ctx.db, workspaceId, id);
    request.log.info({ workspaceId, pluginId: id, revoked }, 'plugin credentials deleted');
    return { deleted: deleted || connected, revoked };
  });
};
