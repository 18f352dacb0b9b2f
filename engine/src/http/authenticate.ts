import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticateApiKey } from '../auth/api-keys.ts';
import { roleAllows } from '../auth/roles.ts';
import { csrfMatches, findSession, SESSION_COOKIE } from '../auth/sessions.ts';
import type { EngineContext } from '../context.ts';
import { CairnError } from '../errors.ts';
import type { RequestAuth } from './kit.ts';
import { countFailure, refuseWhenSpent, type Limiter } from './rate-limits.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const unauthorized = (detail: string) => new CairnError('CAIRN_ERR_UNAUTHORIZED', detail);

/**
 * onRequest hook of the /v1 scope: runs before the body is parsed, so a caller without a valid key gets 401 and
 * a too-weak role 403 before any validation. Bearer keys need no CSRF token; cookie sessions must send the
 * session's token in `x-cairn-csrf` on unsafe methods. Failed authentications are counted per IP in
 * `failedAuth`, which is checked first: an address that made too many gets 429 without a lookup.
 */
export function createAuthHook(ctx: EngineContext, failedAuth: Limiter) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    request.auth = null;
    const config = request.routeOptions.config;
    if (config.public) return;
    await refuseWhenSpent(failedAuth, request, reply, 'too many failed authentications from this address');
    let auth: RequestAuth;
    try {
      auth = await identify(ctx, request);
    } catch (err) {
      if ((err as CairnError).code === 'CAIRN_ERR_UNAUTHORIZED') await countFailure(failedAuth, request);
      throw err;
    }
    reply.header('cache-control', 'no-store');
    if (config.anyRole) {
      request.auth = auth;
      return;
    }
    const access = SAFE_METHODS.has(request.method) ? 'read' : 'write';
    const area = config.area ?? 'workspace';
    if (config.adminOnly && auth.role !== 'admin') throw new CairnError('CAIRN_ERR_FORBIDDEN', `only admins may ${access} this; the ${auth.role} role may not`);
    if (!roleAllows(auth.role, access, area)) {
      throw new CairnError('CAIRN_ERR_FORBIDDEN', `the ${auth.role} role may not ${access} ${area}`);
    }
    request.auth = auth;
  };
}

async function identify(ctx: EngineContext, request: FastifyRequest): Promise<RequestAuth> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw unauthorized('the Authorization header must be "Bearer <api key>"');
    const key = await authenticateApiKey(ctx.db, m[1]!);
    if (!key) throw unauthorized('the API key is not valid (unknown, revoked or mistyped)');
    return { workspaceId: key.workspaceId, role: key.role, via: 'api_key', keyId: key.keyId, userId: null, sessionId: null };
  }
  const token = request.cookies?.[SESSION_COOKIE];
  if (token) {
    const session = await findSession(ctx.db, token, ctx.clock.now());
    if (!session) throw unauthorized('the session has expired or was logged out; log in again');
    if (!SAFE_METHODS.has(request.method)) {
      const presented = request.headers['x-cairn-csrf'];
      if (!csrfMatches(Array.isArray(presented) ? presented[0] : presented, session.csrfToken)) {
        throw new CairnError('CAIRN_ERR_FORBIDDEN', 'cookie-authenticated requests that change something must send the x-cairn-csrf header from GET /v1/auth/me');
      }
    }
    return { workspaceId: session.workspaceId, role: session.role, via: 'session', keyId: null, userId: session.userId, sessionId: session.sessionId };
  }
  throw unauthorized('send "Authorization: Bearer <api key>" (or log in for a session)');
}
