import { MAX_SOURCE_MAP_BYTES } from '@cairn/plugin-sdk/host';
import { ingestEvents, type EventInput } from '../crm/events.ts';
import { isUuid } from '../db/ids.ts';
import { withTx } from '../db/index.ts';
import { credentialFields, loadCredentials, putCredentials } from '../plugins/credentials.ts';
import { getInstall, getManifest, listPlugins, publishPluginVersion, setPluginEnabled } from '../plugins/registry.ts';
import { createPluginSandbox } from '../plugins/runtime.ts';
import { challengeAnswer, triggerKind } from '../plugins/triggers.ts';
import { resolvePluginVersion } from '../plugins/pins.ts';
import { CairnError, notFound } from '../errors.ts';
import { idempotent } from './kit.ts';
import type { CairnTypeProvider, RouteGroup } from './route-groups.ts';
import { idempotencyHeaders, page as pageSchema, ref } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;
const credentialFieldsSchema = {
  type: 'object', required: ['fields_set'],
  properties: { fields_set: { type: 'array', items: { type: 'string' } }, updated_at: { type: ['string', 'null'], format: 'date-time' } },
} as const;
const PLUGIN_ID = /^[a-z][a-z0-9_]{0,62}$/;

// A built bundle (up to 5 MiB) and its source map (up to 2 MiB) may be larger than the API's usual 1 MiB body limit.
const UPLOAD_LIMIT = 8 * 1024 * 1024;

function pluginId(params: unknown): string {
  const id = (params as { id: string }).id;
  if (!PLUGIN_ID.test(id)) throw notFound(`plugin ${id}`);
  return id;
}

/**
 * Plugins of the caller's workspace (CONTRACT.md §Catalog and plugins): upload a built plugin (admin),
 * list, enable/disable, and store credentials, which are encrypted and never returned.
 */
export const pluginsRoutes: RouteGroup = async (app, { ctx, onEventsIngested, pluginSandbox }) => {
  const limits = { memoryLimitMb: ctx.config.sandbox.memoryLimitMb, cpuTimeMs: ctx.config.sandbox.cpuTimeMs, wallTimeMs: ctx.config.sandbox.wallTimeMs };

  app.post('/plugins', {
    config: { area: 'workspace' },
    bodyLimit: UPLOAD_LIMIT,
    schema: {
      operationId: 'uploadPlugin', tags: ['plugins'],
      summary: 'Upload a built plugin version (manifest.json + plugin.js); versions are immutable',
      headers: idempotencyHeaders,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['manifest', 'bundle'],
        properties: {
          manifest: ref('PluginManifest'),
          bundle: { type: 'string', minLength: 1, description: 'plugin.js as built' },
          source_map: { type: 'string', maxLength: MAX_SOURCE_MAP_BYTES, description: 'plugin.js.map as built (optional): failed steps show stacks in the plugin\'s source files' },
        },
      },
      response: { 201: ref('PluginVersion'), 200: ref('PluginVersion') },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const outcome = await idempotent(ctx, request, async (tx) => {
      const r = await publishPluginVersion(tx, workspaceId, request.body, limits, ctx.clock.now());
      return { status: r.status, body: r.plugin };
    });
    request.log.info({ workspaceId, pluginId: outcome.body.id, version: outcome.body.version, status: outcome.status }, 'plugin version uploaded');
    return reply.code(outcome.status as 201).send(outcome.body);
  });

  app.get('/plugins', { config: { area: 'workspace' }, schema: { operationId: 'listPlugins', tags: ['plugins'], summary: 'Installed plugins, versions, actions and which credential fields are set', response: { 200: pageSchema('Plugin') } } }, async (request) => ({
    items: await listPlugins(ctx.db, request.auth!.workspaceId),
    next_cursor: null,
  }));

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(`/plugins/:id/${action}`, {
      config: { area: 'workspace' },
      schema: {
        operationId: `${action}Plugin`, tags: ['plugins'], summary: `${enabled ? 'Enable' : 'Disable'} a plugin in this workspace`, params: idParams,
        response: { 200: { type: 'object', required: ['id', 'enabled'], properties: { id: { type: 'string' }, enabled: { type: 'boolean' } } } },
      },
    }, async (request) => {
      const id = pluginId(request.params);
      await setPluginEnabled(ctx.db, request.auth!.workspaceId, id, enabled, ctx.clock.now());
      return { id, enabled };
    });
  }

  app.put('/plugins/:id/credentials', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'putPluginCredentials', tags: ['plugins'], summary: "Store this workspace's credentials for the plugin (encrypted; never returned)", params: idParams,
      // Checked against the plugin's own auth schema (every problem at once, with paths), not here.
      body: { type: 'object', description: "the fields of the plugin manifest's auth schema (PluginManifest.auth); every value a string" },
      response: { 200: credentialFieldsSchema },
    },
  }, async (request) => {
    const id = pluginId(request.params);
    const { workspaceId } = request.auth!;
    const result = await putCredentials(ctx.db, ctx.secretKey, workspaceId, id, request.body, ctx.clock.now());
    request.log.info({ workspaceId, pluginId: id, fields: result.fields_set }, 'plugin credentials stored');
    return result;
  });

  // Inbound webhooks for plugin triggers (e.g. Stripe). Public: the plugin's `verify` authenticates the
  // request with the workspace's secrets. The raw body is kept as text, since signatures are computed over it.
  // One plugin runtime: triggers run in the engine's sandbox with the same limits and network guards as actions.
  const triggerSandbox = pluginSandbox ?? createPluginSandbox(ctx);
  if (!pluginSandbox) app.addHook('onClose', async () => triggerSandbox.close());

  const hookParams = { type: 'object', required: ['workspace', 'id', 'trigger'], properties: { workspace: { type: 'string' }, id: { type: 'string' }, trigger: { type: 'string' } } } as const;
  const challengeResponse = { description: "the challenge echoed back (a vendor's handshake the trigger declares)", content: { 'text/plain': { schema: { type: 'string' } } } } as const;
  // `?cairn_flow=<flow id>`: the version that flow's published version pinned runs (else the latest stable); the
  // parameter is the engine's, so the plugin's `query` does not have it.
  const webhookTarget = async (params: { workspace: string; id: string; trigger: string }, rawQuery: unknown) => {
    const id = pluginId(params);
    if (!isUuid(params.workspace) || !PLUGIN_ID.test(params.trigger)) throw notFound('webhook');
    const workspaceId = params.workspace.toLowerCase();
    const { cairn_flow: flowId, ...query } = Object.fromEntries(Object.entries(rawQuery as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    if (flowId !== undefined && !isUuid(flowId)) throw notFound('webhook');
    const install = await getInstall(ctx.db, workspaceId, id);
    const version = install?.enabled ? await resolvePluginVersion(ctx.db, workspaceId, flowId ? { flowId: flowId.toLowerCase() } : null, id) : null;
    const manifest = version ? await getManifest(ctx.db, workspaceId, id, version) : null;
    const decl = manifest?.triggers?.find((t) => t.key === params.trigger && triggerKind(t) === 'webhook');
    if (!version || !decl) throw notFound('webhook');
    return { workspaceId, id, version, decl, query };
  };

  await app.register(async (scope) => {
    const hooks = scope.withTypeProvider<CairnTypeProvider>();
    hooks.get('/hooks/:workspace/plugins/:id/:trigger', {
      config: { public: true },
      schema: {
        operationId: 'pluginWebhookChallenge', tags: ['plugins'],
        summary: "A vendor's GET challenge handshake for a plugin webhook trigger (echoes the declared query parameter)",
        description: 'Public. Answers only when the trigger declares a GET challenge (`challenge: { method: "GET", param }`) and the request carries it; otherwise 404.',
        params: hookParams,
        response: { 200: challengeResponse },
      },
    }, async (request, reply) => {
      const { decl, query } = await webhookTarget(request.params, request.query);
      const echo = challengeAnswer(decl, 'GET', '', query);
      if (echo === null) throw notFound('webhook challenge');
      return reply.code(200).type('text/plain; charset=utf-8').send(echo);
    });
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    hooks.post('/hooks/:workspace/plugins/:id/:trigger', {
      config: { public: true },
      schema: {
        operationId: 'pluginWebhook', tags: ['plugins'],
        summary: "Inbound webhook for a plugin trigger; the plugin verifies it and its events are ingested",
        description: 'Public (no API key): the plugin verifies the request (e.g. a vendor signature) with the workspace\'s credentials. Any content type; the raw body is handed to the plugin. With `?cairn_flow=<flow id>` (the URL the engine subscribes for a flow) the plugin version that flow pinned verifies it (else the latest stable version); the parameter is not passed on.',
        response: {
          202: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('EventResult') } } },
          200: challengeResponse,
        },
        params: hookParams,
      },
    }, async (request, reply) => {
      const { workspaceId, id, version, decl, query } = await webhookTarget(request.params, request.query);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      const trigger = decl.key;
      const echo = challengeAnswer(decl, 'POST', typeof request.body === 'string' ? request.body : '', query);
      if (echo !== null) return reply.code(200).type('text/plain; charset=utf-8').send(echo);
      const secrets = await loadCredentials(ctx.db, ctx.secretKey, workspaceId, id);
      const result = await triggerSandbox.runTrigger({ workspaceId, pluginId: id, version }, trigger,
        { method: request.method, headers, body: typeof request.body === 'string' ? request.body : '', query }, secrets);
      if (!result.ok) {
        // The anonymous sender learns the code (e.g. STRIPE_SIGNATURE_MISMATCH), never the plugin's text: it may
        // quote a vendor body or a secret in a form the redaction does not know. Operators read it in the log.
        request.log.warn({ workspaceId, pluginId: id, trigger, code: result.error.code, detail: result.error.message }, 'plugin webhook refused');
        if (result.error.limit) throw new CairnError('CAIRN_ERR_PLUGIN_LIMIT', `the trigger ${trigger} of plugin ${id} exceeded its ${result.error.limit} limit`);
        throw new CairnError('CAIRN_ERR_VALIDATION', `[${result.error.code}] the trigger ${trigger} of plugin ${id} refused the request`);
      }
      const events = result.value.map((e) => ({ ...e, source: `plugin:${id}` }) as EventInput);
      const items = events.length
        ? await withTx(ctx.db, (tx) => ingestEvents(tx, workspaceId, events, { onEventsIngested }, { now: ctx.clock.now() }))
        : [];
      request.log.info({ workspaceId, pluginId: id, trigger, events: items.length }, 'plugin webhook accepted');
      return reply.code(202).send({ items });
    });
  });

  app.get('/plugins/:id/credentials', {
    config: { area: 'workspace' },
    schema: { operationId: 'getPluginCredentials', tags: ['plugins'], summary: 'Which credential fields are set (never their values)', params: idParams, response: { 200: credentialFieldsSchema } },
  }, async (request) => credentialFields(ctx.db, request.auth!.workspaceId, pluginId(request.params)));
};
