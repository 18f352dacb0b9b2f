import type { FastifyInstance, FastifyPluginAsync, FastifyBaseLogger, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { FastifyTypeProvider } from 'fastify';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { RequestSchemas } from './schemas.ts';
import type { EngineContext } from '../context.ts';
import type { OnEventsIngested } from '../crm/event-hooks.ts';
import { authRoutes } from './auth.ts';
import { contactsRoutes } from './contacts.ts';
import { eventsRoutes } from './events.ts';
import { flowsRoutes } from './flows.ts';
import { runsRoutes } from './runs.ts';
import { ownersRoutes } from './owners.ts';
import { catalogRoutes } from './catalog.ts';
import { pluginsRoutes } from './plugins.ts';
import { pluginAuthRoutes } from './plugin-auth.ts';
import { testClockRoutes } from './test-clock.ts';
import { settingsRoutes } from './settings.ts';
import { fieldsRoutes } from './fields.ts';
import { tasksRoutes } from './tasks.ts';
import { emailRoutes } from './email.ts';
import { scoringRoutes } from './scoring.ts';
import { referralsRoutes } from './referrals.ts';
import { loyaltyRoutes } from './loyalty.ts';
import { segmentsRoutes } from './segments.ts';
import { kpisRoutes } from './kpis.ts';
import { backtestsRoutes } from './backtests.ts';
import type { FlowEngine } from '../runner/index.ts';
import type { NodeTypeResolver } from '../flow/service.ts';
import type { NodeTypeSpec } from '../contracts/flow.ts';
import type { SandboxHost } from '../sandbox/host.ts';
import type { OAuthFetchOptions } from '../plugins/oauth.ts';

/** What every route group is handed by http/app.ts. */
export interface RouteGroupOptions {
  ctx: EngineContext;
  /** The flow engine's ingestion hook (starts runs in the ingestion transaction). */
  onEventsIngested?: OnEventsIngested;
  /** The flow engine (test clock, dry runs); absent in apps built without one. */
  engine?: FlowEngine;
  /** Node types a workspace's flows may use (core + its enabled plugin actions). Default: core only. */
  nodeTypes?: NodeTypeResolver;
  /** Catalog entries of a workspace's enabled plugin actions. */
  pluginCatalog?: (workspaceId: string) => Promise<NodeTypeSpec[]>;
  /** The plugin runtime's sandbox, which also serves webhook triggers; absent: the route builds one the same way. */
  pluginSandbox?: SandboxHost;
  /** Where the engine may fetch for plugins (OAuth token endpoints); absent: from the config. */
  pluginFetch?: OAuthFetchOptions;
}

/**
 * One fastify plugin per route group, registered under /v1 by http/app.ts, in an encapsulated scope that already
 * authenticates every request (Bearer API key or session cookie + CSRF), rate-limits it, and answers every error
 * as problem+json. The pattern (see http/contacts.ts for a full example):
 *
 * ```ts
 * import type { RouteGroup } from './route-groups.ts';
 * import { pageQuery, page, parseCursor, requireUuid, idempotent, type AuthedRequest } from './kit.ts';
 *
 * export const flowsRoutes: RouteGroup = async (app, { ctx }) => {
 *   app.get('/flows/:id', {
 *     config: { area: 'flows' },                       // role check: GET = read, other methods = write
 *     schema: { params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
 *   }, async (request) => {
 *     const id = requireUuid(request.params.id, 'flow'); // typed from schema.params; non-UUID → 404
 *     const { workspaceId } = request.auth!;           // scope EVERY query by workspaceId; other workspace → 404
 *     ...
 *   });
 * };
 * ```
 * - `config.area`: 'events' | 'contacts' | 'flows' | 'runs' | 'workspace' (default 'workspace' = admin-only writes).
 *   `config.anyRole: true` lets every authenticated role in; `config.public: true` skips authentication.
 * - Request schemas: plain inline JSON Schema (no `$ref` to shared schemas), `additionalProperties: false` on every
 *   object of a body. Bodies are validated without type coercion; querystring/params are coerced.
 * - Throw `CairnError` (engine/src/errors.ts: `notFound`, `invalid(detail, [{ path, message }])`, `conflict`...).
 */
export type RouteGroup = FastifyPluginAsync<RouteGroupOptions, RawServerDefault, CairnTypeProvider>;

/**
 * Handlers get `request.params`, `query`, `body` and `headers` typed from the route's own JSON Schemas (what
 * fastify validated them against), so they need no casts. Replies are not typed from the response schemas: the
 * serializer and engine/test/openapi/conformance.test.ts hold them to the document instead.
 */
export interface CairnTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema'], { references: RequestSchemas }> : unknown;
  serializer: unknown;
}

/** The fastify instance a route group is handed (typed by CairnTypeProvider). */
export type RouteApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, CairnTypeProvider>;

/** Add your group here (one line) when you add a file under http/. */
export const routeGroups: RouteGroup[] = [authRoutes, contactsRoutes, eventsRoutes, flowsRoutes, runsRoutes, ownersRoutes, catalogRoutes, testClockRoutes, pluginsRoutes, pluginAuthRoutes, settingsRoutes, tasksRoutes, emailRoutes, scoringRoutes, referralsRoutes, loyaltyRoutes, segmentsRoutes, fieldsRoutes, kpisRoutes, backtestsRoutes];
