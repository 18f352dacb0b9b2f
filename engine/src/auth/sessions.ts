import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { isRole, type Role } from './roles.ts';

/** Sessions last 7 days from login. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
export const SESSION_COOKIE = 'cairn_session';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export async function createSession(db: Db, input: { workspaceId: string; userId: string; now: Date }): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const expiresAt = new Date(input.now.getTime() + SESSION_TTL_MS);
  await db('sessions').insert({
    id: newId(), workspace_id: input.workspaceId, user_id: input.userId, token_hash: sha256(token),
    csrf_token: csrfToken, created_at: input.now, expires_at: expiresAt,
  });
  return { token, csrfToken, expiresAt };
}

export interface SessionAuth {
  sessionId: string;
  workspaceId: string;
  userId: string;
  role: Role;
  csrfToken: string;
}

/** The live session of a cookie token (the user's current role), or null when unknown or expired. */
export async function findSession(db: Db, token: string, now: Date): Promise<SessionAuth | null> {
  if (token.length < 20 || token.length > 100) return null;
  const row = await db('sessions as s').join('users as u', function () {
    this.on('u.id', 's.user_id').andOn('u.workspace_id', 's.workspace_id');
  }).where('s.token_hash', sha256(token)).where('s.expires_at', '>', now)
    .first<{ id: string; workspace_id: string; user_id: string; role: string; csrf_token: string } | undefined>(
      's.id', 's.workspace_id', 's.user_id', 'u.role', 's.csrf_token');
  if (!row || !isRole(row.role)) return null;
  return { sessionId: row.id, workspaceId: row.workspace_id, userId: row.user_id, role: row.role, csrfToken: row.csrf_token };
}

export async function deleteSession(db: Db, workspaceId: string, sessionId: string): Promise<void> {
  await db('sessions').where({ id: sessionId, workspace_id: workspaceId }).delete();
}

/** Constant-time comparison of the x-cairn-csrf header with the session's token. */
export function csrfMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
