import { createHash } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../auth/sessions.ts';
import type { EngineContext } from '../context.ts';
import type { OnEventsIngested } from '../crm/event-hooks.ts';
import type { FlowEngine } from '../runner/index.ts';
import type { NodeTypeResolver } from '../flow/service.ts';
import type { NodeTypeSpec } from '../contracts/flow.ts';
import { CairnError } from '../errors.ts';
import { createAuthHook } from './authenticate.ts';
import { healthRoutes } from './health.ts';
import { registerJsonParser } from './json-body.ts';
import { errorHandler, notFoundHandler, problemSchema } from './problems.ts';
import { routeGroups } from './route-groups.ts';
import { uiRoutes } from './ui.ts';
import { validatorCompiler } from './validation.ts';

export interface AppOptions {
  onEventsIngested?: OnEventsIngested;
  /** The flow engine; its ingestion hook is used when `onEventsIngested` is not given. */
  engine?: FlowEngine;
  nodeTypes?: NodeTypeResolver;
  pluginCatalog?: (workspaceId: string) => Promise<NodeTypeSpec[]>;
  /** Requests per key (or session, or IP when anonymous) per window. Default: config.rateLimitPerMinute per minute. */
  rateLimit?: { max: number; timeWindowMs: number };
}

/** The bucket a request counts against: its API key (hashed, never kept in clear), else its session, else its IP. */
function rateLimitKey(request: FastifyRequest): string {
  const authz = request.headers.authorization;
  if (authz) return `k:${createHash('sha256').update(authz).digest('base64url').slice(0, 22)}`;
  const session = request.cookies?.[SESSION_COOKIE];
  if (session) return `s:${createHash('sha256').update(session).digest('base64url').slice(0, 22)}`;
  return `ip:${request.ip}`;
}

/**
 * The HTTP API, built but not listening (the runtime calls `listen`; tests use `inject`). Every route group of
 * route-groups.ts is registered under /v1 behind authentication, role checks and rate limiting; /healthz and
 * /readyz stay outside; the OpenAPI document is generated from the routes' JSON Schemas at /docs/json.
 */
export async function createApp(ctx: EngineContext, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: ctx.config.bodyLimit,
    // Bodies like {"__proto__": ...} are refused (400) rather than silently stripped.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // One line per request would dominate the ingestion hot path; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Signed email links (unsubscribe, tracking) carry their claim in the path: longer than the default 100.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
  });
  registerJsonParser(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('auth', null);

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Cairn API', version: '1.0.0', description: 'Workflow automation for customer lifecycles. See docs/api.md.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'cairn_<prefix>_<secret>' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await healthRoutes(app, ctx);

  const limit = opts.rateLimit ?? { max: ctx.config.rateLimitPerMinute, timeWindowMs: 60_000 };
  await app.register(async (v1) => {
    v1.addHook('onRequest', createAuthHook(ctx));
    // Every /v1 route documents its error answers as problem+json (unless it declares its own).
    v1.addHook('onRoute', (route) => {
      const schema = (route.schema ??= {}) as { response?: Record<string, unknown> };
      schema.response ??= {};
      schema.response['4XX'] ??= problemSchema;
      schema.response['5XX'] ??= problemSchema;
    });
    await v1.register(fastifyRateLimit, {
      global: true,
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: rateLimitKey,
      errorResponseBuilder: (_request, context) => new CairnError('CAIRN_ERR_RATE_LIMITED', `rate limit of ${context.max} requests per ${limit.timeWindowMs / 1000} s exceeded for this key; retry after ${context.after}`),
    });
    const onEventsIngested = opts.onEventsIngested ?? opts.engine?.onEventsIngested;
    for (const group of routeGroups) {
      await v1.register(group, { ctx, onEventsIngested, engine: opts.engine, nodeTypes: opts.nodeTypes, pluginCatalog: opts.pluginCatalog });
    }
  }, { prefix: '/v1' });
  await app.register(uiRoutes);

  return app;
}
