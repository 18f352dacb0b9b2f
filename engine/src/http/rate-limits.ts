import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CairnError } from '../errors.ts';

/**
 * Who a request counts against (docs/api.md §Rate limits). Buckets are never keyed by what the caller sends
 * (any header or cookie value can be made up, and each new value would be a fresh bucket):
 * - an authenticated request counts against its principal, the API key's id or the session's id, however the
 *   header was spelled (`bearer  KEY`, `BEARER KEY `);
 * - an anonymous request (public routes) against its IP;
 * - a failed authentication against its IP, in a bucket checked BEFORE authenticating, so made-up keys or
 *   cookies are limited too (and stop costing a database lookup);
 * - a login against its IP (every attempt) and against the account it names (failures).
 * The IP is the socket's peer, or the client named by a trusted proxy (CAIRN_TRUST_PROXY).
 */

/** Failed authentications per IP per minute (or CAIRN_RATE_LIMIT when lower) before the IP gets 429. */
export const AUTH_FAILURES_PER_MINUTE = 60;
/** Login attempts per IP per minute. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 60;
/** Failed logins per account (workspace + email) per window, from any IP, before further attempts get 429. */
export const LOGIN_FAILURES_PER_ACCOUNT = 10;
export const LOGIN_ACCOUNT_WINDOW_MS = 15 * 60_000;

export function principalKey(request: FastifyRequest): string {
  const auth = request.auth;
  if (auth?.keyId) return `key:${auth.keyId}`;
  if (auth?.sessionId) return `session:${auth.sessionId}`;
  return `ip:${request.ip}`;
}

export type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * 429 with Retry-After when the limiter's bucket for this request is already spent; does not count the request.
 * `what` says which limit in the answer ("too many failed authentications from this address").
 */
export async function refuseWhenSpent(limiter: Limiter, request: FastifyRequest, reply: FastifyReply, what: string): Promise<void> {
  const r = await limiter(request, { increment: false });
  if (r.isAllowed || r.remaining > 0) return;
  reply.header('retry-after', String(Math.max(1, r.ttlInSeconds)));
  throw new CairnError('CAIRN_ERR_RATE_LIMITED', `${what}; retry after ${Math.max(1, r.ttlInSeconds)} s`);
}

/** Counts one failure in the limiter's bucket for this request. */
export async function countFailure(limiter: Limiter, request: FastifyRequest): Promise<void> {
  await limiter(request);
}
