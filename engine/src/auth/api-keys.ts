import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { isRole, type Role } from './roles.ts';

/** `cairn_<12 hex prefix>_<43 base64url secret>`: the prefix finds the row, the sha256 of the whole key proves it. */
const KEY_RE = /^cairn_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Creates a key. The plaintext is returned once and never stored. */
export async function createApiKey(db: Db, input: { workspaceId: string; role: Role; name?: string }): Promise<{ id: string; key: string }> {
  if (!isRole(input.role)) throw new TypeError(`role must be one of admin, editor, viewer, ingest (got ${String(input.role)})`);
  const id = newId();
  const prefix = randomBytes(6).toString('hex');
  const key = `cairn_${prefix}_${randomBytes(32).toString('base64url')}`;
  await db('api_keys').insert({
    id, workspace_id: input.workspaceId, prefix, key_hash: sha256(key), role: input.role, name: input.name ?? null,
  });
  return { id, key };
}

export interface ApiKeyAuth {
  workspaceId: string;
  role: Role;
  keyId: string;
}

/**
 * Verified keys are remembered for a few seconds so the ingestion hot path does not pay a query per request.
 * A revocation is immediate in this process and takes effect within CACHE_TTL_MS in the others. Expiry uses
 * the monotonic clock on purpose: a manual engine clock must not make a cache entry live forever.
 */
const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;
const cache = new Map<string, { auth: ApiKeyAuth; until: number }>();

/** Resolves a presented key, or null when it is malformed, unknown, revoked or does not match (constant-time). */
export async function authenticateApiKey(db: Db, key: string): Promise<ApiKeyAuth | null> {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  const digest = sha256(key);
  const hit = cache.get(digest);
  if (hit && hit.until > performance.now()) return hit.auth;
  const row = await db('api_keys').where({ prefix: m[1] }).whereNull('revoked_at')
    .first<{ id: string; workspace_id: string; key_hash: string; role: string } | undefined>('id', 'workspace_id', 'key_hash', 'role');
  if (!row || !isRole(row.role)) return null;
  const presented = Buffer.from(digest, 'hex');
  const stored = Buffer.from(row.key_hash, 'hex');
  if (presented.length !== stored.length || !timingSafeEqual(presented, stored)) return null;
  const auth: ApiKeyAuth = { workspaceId: row.workspace_id, role: row.role, keyId: row.id };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(digest, { auth, until: performance.now() + CACHE_TTL_MS });
  return auth;
}

/** Revokes a key of the workspace; true when one was revoked. */
export async function revokeApiKey(db: Db, workspaceId: string, keyId: string, now: Date): Promise<boolean> {
  const n = await db('api_keys').where({ id: keyId, workspace_id: workspaceId }).whereNull('revoked_at').update({ revoked_at: now });
  for (const [digest, entry] of cache) if (entry.auth.keyId === keyId) cache.delete(digest);
  return n > 0;
}
