import type { Db } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { hashPassword } from './passwords.ts';
import { isRole, type Role } from './roles.ts';

export interface UserRow {
  id: string;
  workspace_id: string;
  email: string;
  name: string | null;
  password_hash: string;
  role: Role;
  created_at: Date;
}

/** Creates a user of the builder UI; the password is kept only as a scrypt hash. */
export async function createUser(
  db: Db,
  input: { workspaceId: string; email: string; password: string; role: Role; name?: string },
): Promise<{ id: string }> {
  if (!isRole(input.role)) throw new TypeError(`role must be one of admin, editor, viewer, ingest (got ${String(input.role)})`);
  if (input.password.length < 8) throw new TypeError('password must have at least 8 characters');
  const id = newId();
  await db('users').insert({
    id, workspace_id: input.workspaceId, email: input.email, name: input.name ?? null,
    password_hash: await hashPassword(input.password), role: input.role,
  });
  return { id };
}

export async function findUserByEmail(db: Db, workspaceId: string, email: string): Promise<UserRow | undefined> {
  return db('users').where({ workspace_id: workspaceId }).whereRaw('lower(email) = lower(?)', [email]).first<UserRow | undefined>();
}
