import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { EngineContext } from '../context.ts';
import type { OnEventsIngested } from '../crm/event-hooks.ts';
import type { FlowEngine } from '../runner/index.ts';
import type { NodeTypeResolver } from '../flow/service.ts';
import type { NodeTypeSpec } from '../contracts/flow.ts';
import type { SandboxHost } from '../sandbox/host.ts';
import { CairnError } from '../errors.ts';
import { createAuthHook } from './authenticate.ts';
import { healthRoutes } from './health.ts';
import { registerJsonParser } from './json-body.ts';
import { errorHandler, notFoundHandler } from './problems.ts';
import { documentRoute, swaggerOptions } from './openapi.ts';
import { sharedSchemas } from './schemas.ts';
import { AUTH_FAILURES_PER_MINUTE, principalKey } from './rate-limits.ts';
import { routeGroups } from './route-groups.ts';
import type { OAuthFetchOptions } from '../plugins/oauth.ts';
import { uiRoutes } from './ui.ts';
import { validatorCompiler } from './validation.ts';

export interface AppOptions {
  onEventsIngested?: OnEventsIngested;
  /** The flow engine; its ingestion hook is used when `onEventsIngested` is not given. */
  engine?: FlowEngine;
  nodeTypes?: NodeTypeResolver;
  pluginCatalog?: (workspaceId: string) => Promise<NodeTypeSpec[]>;
  /** The plugin runtime's sandbox (webhook triggers run in it). */
  pluginSandbox?: SandboxHost;
  /** Where the engine may fetch for plugins (OAuth token endpoints). */
  pluginFetch?: OAuthFetchOptions;
  /** Requests per key (or session, or IP when anonymous) per window. Default: config.rateLimitPerMinute per minute. */
  rateLimit?: { max: number; timeWindowMs: number };
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
    // Behind a TLS-terminating proxy: request.ip and request.protocol (the session cookie's Secure flag) come
    // from X-Forwarded-For/-Proto, believed only from the proxies the operator names.
    trustProxy: typeof ctx.config.trustProxy === 'object' ? [...ctx.config.trustProxy] : ctx.config.trustProxy,
    // Errors fastify raises before routing (a malformed %-escape in the URL...) answer problem+json too.
    frameworkErrors: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => { errorHandler(err, request, reply); },
  });
  registerJsonParser(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('auth', null);

  await app.register(fastifyCookie);
  for (const schema of sharedSchemas) app.addSchema(schema);
  await app.register(fastifySwagger, swaggerOptions);
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await healthRoutes(app, ctx);

  const limit = opts.rateLimit ?? { max: ctx.config.rateLimitPerMinute, timeWindowMs: 60_000 };
  await app.register(async (v1) => {
    // Route-level hooks run after this scope's hooks: the limiter below counts a request against its
    // authenticated principal, after the auth hook has identified it (rate-limits.ts).
    await v1.register(fastifyRateLimit, {
      global: true,
      hook: 'onRequest',
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: principalKey,
      errorResponseBuilder: (_request, context) => new CairnError('CAIRN_ERR_RATE_LIMITED', `rate limit of ${context.max} requests per ${limit.timeWindowMs / 1000} s exceeded for this key; retry after ${context.after}`),
    });
    const failedAuth = v1.createRateLimit({ max: Math.min(limit.max, AUTH_FAILURES_PER_MINUTE), timeWindow: 60_000, keyGenerator: (r) => `auth-failure:${r.ip}` });
    v1.addHook('onRequest', createAuthHook(ctx, failedAuth));
    // Every /v1 route is documented (operationId, summary, tags, 2xx schema), with problem+json error answers.
    v1.addHook('onRoute', documentRoute);
    const onEventsIngested = opts.onEventsIngested ?? opts.engine?.onEventsIngested;
    for (const group of routeGroups) {
      await v1.register(group, { ctx, onEventsIngested, engine: opts.engine, nodeTypes: opts.nodeTypes, pluginCatalog: opts.pluginCatalog, pluginSandbox: opts.pluginSandbox, pluginFetch: opts.pluginFetch });
    }
  }, { prefix: '/v1' });
  await app.register(uiRoutes);

  return app;
}
