import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { RouteOptions } from 'fastify';
import { SESSION_COOKIE } from '../auth/sessions.ts';
import { LOGIN_ATTEMPTS_PER_MINUTE, LOGIN_FAILURES_PER_ACCOUNT } from './rate-limits.ts';

const problem = (description: string, headers?: Record<string, { description: string; type: string }>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

const retryAfter = { 'Retry-After': { description: 'seconds to wait before retrying', type: 'integer' } };

/** The error answers every /v1 route documents (and serialises through the Problem schema). */
const PROBLEMS = {
  '4XX': problem('the request was refused: invalid (400), forbidden (403), not found (404), conflict (409), too large (413), not JSON (415), unprocessable (422)'),
  429: problem('rate limited (docs/api.md §Rate limits)', retryAfter),
  '5XX': problem('the engine failed (500) or its database is unreachable (503, with Retry-After)', retryAfter),
} as const;

const UNAUTHORIZED = problem('no valid API key or session', {
  'WWW-Authenticate': { description: 'Bearer realm="cairn"', type: 'string' },
});

/** API key, or the builder's session cookie (plus its CSRF header on writes). */
const SECURITY_READ: Array<Record<string, string[]>> = [{ apiKey: [] }, { session: [] }];
const SECURITY_WRITE: Array<Record<string, string[]>> = [{ apiKey: [] }, { session: [], csrf: [] }];

const DESCRIPTION = `Workflow automation for customer lifecycles (docs/api.md, CONTRACT.md).

Authenticate with \`Authorization: Bearer <api key>\`, or with the builder's session cookie \`${SESSION_COOKIE}\`
(from \`POST /v1/auth/login\`), which must send \`x-cairn-csrf\` on POST/PUT/PATCH/DELETE.

Rate limits: per API key or session (CAIRN_RATE_LIMIT per minute); failed authentications 60 per IP per minute;
\`POST /v1/auth/login\` ${LOGIN_ATTEMPTS_PER_MINUTE} attempts per IP per minute and ${LOGIN_FAILURES_PER_ACCOUNT} failures per account
per 15 minutes. Over a limit: 429 with Retry-After.

Errors are application/problem+json (RFC 9457) with \`errors[]\` items pointing (JSON Pointer) at what is wrong.`;

export const swaggerOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: { title: 'Cairn API', version: '1.0.0', description: DESCRIPTION, license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' } },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'cairn start (PORT, HOST)' }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'an API key: cairn_<prefix>_<secret> (pnpm cairn keys create)' },
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'the builder session set by POST /v1/auth/login' },
        csrf: { type: 'apiKey', in: 'header', name: 'x-cairn-csrf', description: 'csrf_token of GET /v1/auth/me; required with the session cookie on writes' },
      },
    },
    security: SECURITY_READ,
  },
  // Shared schemas (http/schemas.ts) keep their $id as their name under components.schemas.
  refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
};

type Documented = { hide?: boolean; security?: unknown; response?: Record<string, unknown> };

/**
 * onRoute hook of the /v1 scope: a route's security follows its `config` (public routes need nothing; writes with
 * the session cookie need the CSRF header), and its error answers are the shared problem+json responses. What a
 * route must declare itself (operationId, summary, tags, its success schema) is checked on the document by
 * engine/test/openapi/document.test.ts.
 */
export function documentRoute(route: RouteOptions): void {
  const schema = (route.schema ??= {}) as Documented;
  if (schema.hide) return;
  const config = (route.config ?? {}) as { public?: boolean };
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  schema.security ??= config.public ? [] : methods.every((m) => m === 'GET' || m === 'HEAD') ? SECURITY_READ : SECURITY_WRITE;
  const response = (schema.response ??= {});
  for (const [code, answer] of Object.entries(PROBLEMS)) response[code] ??= answer;
  if (!config.public) response[401] ??= UNAUTHORIZED;
}

/** A response with no body (204). */
export const noContent = { type: 'null', description: 'no content' } as const;
