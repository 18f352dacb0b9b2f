import { loadSecretKey } from '../config/secret-key.ts';
import { credentialFields, putCredentials } from '../plugins/credentials.ts';
import { listPlugins, publishPluginVersion, setPluginEnabled } from '../plugins/registry.ts';
import { notFound } from '../errors.ts';
import type { RouteGroup } from './route-groups.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;
const PLUGIN_ID = /^[a-z][a-z0-9_]{0,62}$/;

// A built bundle may be larger than the API's usual 1 MiB body limit.
const UPLOAD_LIMIT = 6 * 1024 * 1024;

function pluginId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!PLUGIN_ID.test(id)) throw notFound(`plugin ${id}`);
  return id;
}

/**
 * Plugins of the caller's workspace (CONTRACT.md §Catalog and plugins): upload a built plugin (admin),
 * list, enable/disable, and store credentials, which are encrypted and never returned.
 */
export const pluginsRoutes: RouteGroup = async (app, { ctx }) => {
  const secretKey = loadSecretKey(ctx.config);
  const limits = { memoryLimitMb: ctx.config.sandbox.memoryLimitMb, cpuTimeMs: ctx.config.sandbox.cpuTimeMs, wallTimeMs: ctx.config.sandbox.wallTimeMs };

  app.post('/plugins', {
    config: { area: 'workspace' },
    bodyLimit: UPLOAD_LIMIT,
    schema: {
      tags: ['plugins'],
      summary: 'Upload a built plugin version (manifest.json + plugin.js); versions are immutable',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['manifest', 'bundle'],
        properties: { manifest: { type: 'object' }, bundle: { type: 'string', minLength: 1 } },
      },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const outcome = await publishPluginVersion(ctx.db, workspaceId, request.body as { manifest: unknown; bundle: unknown }, limits, ctx.clock.now());
    request.log.info({ workspaceId, pluginId: outcome.plugin.id, version: outcome.plugin.version, status: outcome.status }, 'plugin version uploaded');
    return reply.code(outcome.status).send(outcome.plugin);
  });

  app.get('/plugins', { config: { area: 'workspace' }, schema: { tags: ['plugins'], summary: 'Installed plugins, versions, actions and which credential fields are set' } }, async (request) => ({
    items: await listPlugins(ctx.db, request.auth!.workspaceId),
    next_cursor: null,
  }));

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(`/plugins/:id/${action}`, { config: { area: 'workspace' }, schema: { tags: ['plugins'], params: idParams } }, async (request) => {
      const id = pluginId(request.params);
      await setPluginEnabled(ctx.db, request.auth!.workspaceId, id, enabled, ctx.clock.now());
      return { id, enabled };
    });
  }

  app.put('/plugins/:id/credentials', {
    config: { area: 'workspace' },
    schema: { tags: ['plugins'], summary: "Store this workspace's credentials for the plugin (encrypted; never returned)", params: idParams, body: { type: 'object' } },
  }, async (request) => {
    const id = pluginId(request.params);
    const { workspaceId } = request.auth!;
    const result = await putCredentials(ctx.db, secretKey, workspaceId, id, request.body, ctx.clock.now());
    request.log.info({ workspaceId, pluginId: id, fields: result.fields_set }, 'plugin credentials stored');
    return result;
  });

  app.get('/plugins/:id/credentials', {
    config: { area: 'workspace' },
    schema: { tags: ['plugins'], summary: 'Which credential fields are set (never their values)', params: idParams },
  }, async (request) => credentialFields(ctx.db, request.auth!.workspaceId, pluginId(request.params)));
};
