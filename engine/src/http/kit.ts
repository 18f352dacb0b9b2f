import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { roleAllows, type Access, type Area, type Role } from '../auth/roles.ts';
import type { EngineContext } from '../context.ts';
import { withTx, type Tx } from '../db/index.ts';
import { isUuid } from '../db/ids.ts';
import { CairnError, conflict, invalid, notFound } from '../errors.ts';
import { canonicalJson } from '../canonical-json.ts';

/** Who is calling, set by the /v1 authentication hook before validation and handlers run. */
export interface RequestAuth {
  workspaceId: string;
  role: Role;
  via: 'api_key' | 'session';
  keyId: string | null;
  userId: string | null;
  sessionId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: RequestAuth | null;
  }
  interface FastifyContextConfig {
    /** What the route touches; with the method (GET/HEAD = read) it decides which roles may call it. */
    area?: Area;
    /** Every authenticated role may call it (e.g. /auth/me). */
    anyRole?: boolean;
    /** No authentication at all (e.g. /auth/login). */
    public?: boolean;
    /** Admins only, reads included (settings that describe the workspace's mail server, the outbox). */
    adminOnly?: boolean;
  }
}

export type { Access, Area, Role };

/** The caller's auth; only absent on `public` routes, where calling this is a bug. */
export function authOf(request: FastifyRequest): RequestAuth {
  if (!request.auth) throw new CairnError('CAIRN_ERR_INTERNAL', 'route is public but asked for the caller');
  return request.auth;
}

/** For checks beyond the route's `config.area` (e.g. a GET that only admins may make): 403 unless allowed. */
export function assertRole(request: FastifyRequest, access: Access, area: Area): RequestAuth {
  const auth = authOf(request);
  if (!roleAllows(auth.role, access, area)) throw new CairnError('CAIRN_ERR_FORBIDDEN', `the ${auth.role} role may not ${access} ${area}`);
  return auth;
}

/** A path id that is not a UUID cannot exist: 404 without asking PostgreSQL (which would raise 22P02). */
export function requireUuid(value: string, what: string): string {
  if (!isUuid(value)) throw notFound(what);
  return value.toLowerCase();
}

// ---- cursor pagination -------------------------------------------------------------------------------------

/** Querystring properties every list accepts; spread into your querystring schema. */
export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'page size (max 500)' },
  cursor: { type: 'string', maxLength: 1024, description: 'opaque; the next_cursor of the previous page' },
} as const;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Cursors are opaque to clients: base64url JSON of whatever the list sorts by (usually the last id). */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Decodes `?cursor=`; `check` says whether the decoded value has the shape this list wrote. Bad cursor → 400. */
export function parseCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | null {
  if (cursor === undefined || cursor === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!check(value)) throw invalid('cursor is not valid: pass the next_cursor of the previous page unchanged', [{ path: '/cursor', message: 'not a cursor of this list' }]);
  return value;
}

/** For lists ordered by UUIDv7 id (creation order): the cursor is the last id. */
export const isIdCursor = (v: unknown): v is string => typeof v === 'string' && isUuid(v);

/** Fetch `limit + 1` rows, pass them here: the extra row only says there is a next page. */
export function page<R, T>(rows: R[], limit: number, cursorOf: (last: R) => unknown, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { items: kept.map(map), next_cursor: more ? encodeCursor(cursorOf(kept[kept.length - 1]!)) : null };
}

// ---- Idempotency-Key ---------------------------------------------------------------------------------------

export interface Outcome<T = unknown> {
  status: number;
  body: T;
}


const KEY_RE = /^[\x21-\x7e]{1,255}$/;

/**
 * Runs a creating POST in one transaction, honouring the `Idempotency-Key` header: the key is claimed with an
 * insert in the same transaction (a concurrent request with the same key waits on it), so a repeat with the
 * same body gets the first response with 200, a repeat with another body 409, and a failed first attempt
 * (rolled back) leaves the key free. Without the header it is just `withTx`.
 */
export async function idempotent<T>(ctx: EngineContext, request: FastifyRequest, fn: (tx: Tx) => Promise<Outcome<T>>): Promise<Outcome<T>> {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return withTx(ctx.db, fn);
  const key = Array.isArray(header) ? header[0]! : header;
  if (!KEY_RE.test(key)) {
    throw invalid('Idempotency-Key must be 1 to 255 visible ASCII characters', [{ path: '', message: 'header Idempotency-Key is not valid' }]);
  }
  const { workspaceId } = authOf(request);
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  const hash = createHash('sha256').update(canonicalJson(request.body ?? null)).digest('hex');
  return withTx(ctx.db, async (tx) => {
    const claimed = await tx.raw(
      `INSERT INTO idempotency_requests (workspace_id, key, route, request_hash, status, response, created_at)
       VALUES (?, ?, ?, ?, 0, 'null', ?) ON CONFLICT DO NOTHING RETURNING 1`,
      [workspaceId, key, route, hash, ctx.clock.now()],
    );
    if (claimed.rowCount === 0) {
      const prior = await tx('idempotency_requests').where({ workspace_id: workspaceId, route, key })
        .first<{ request_hash: string; response: T }>('request_hash', 'response');
      if (!prior || prior.request_hash !== hash) {
        throw conflict(`Idempotency-Key "${key}" was already used with a different request body; use a new key for a new request`);
      }
      return { status: 200, body: prior.response };
    }
    const outcome = await fn(tx);
    await tx('idempotency_requests').where({ workspace_id: workspaceId, route, key })
      .update({ status: outcome.status, response: JSON.stringify(outcome.body) });
    return outcome;
  });
}
