import type { Db } from '../db/index.ts';
import { newId } from '../db/ids.ts';

export interface Workspace {
  id: string;
  slug: string;
  name: string;
  settings: Record<string, unknown>;
  created_at: Date;
}

const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Creates a workspace. The slug is lowercase letters, digits and dashes (≤ 63), as in `cairn workspaces create <slug>`. */
export async function createWorkspace(db: Db, input: { slug: string; name?: string }): Promise<{ id: string; slug: string }> {
  if (!SLUG_RE.test(input.slug)) {
    throw new TypeError(`workspace slug "${input.slug}" must be lowercase letters, digits and dashes (at most 63, not starting with a dash)`);
  }
  const id = newId();
  await db('workspaces').insert({ id, slug: input.slug, name: input.name ?? input.slug });
  return { id, slug: input.slug };
}

export async function getWorkspaceBySlug(db: Db, slug: string): Promise<Workspace | undefined> {
  return db('workspaces').where({ slug }).first<Workspace | undefined>('id', 'slug', 'name', 'settings', 'created_at');
}

export async function getWorkspaceById(db: Db, id: string): Promise<Workspace | undefined> {
  return db('workspaces').where({ id }).first<Workspace | undefined>('id', 'slug', 'name', 'settings', 'created_at');
}
