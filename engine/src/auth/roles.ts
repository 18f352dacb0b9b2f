/**
 * Roles of API keys and users. A key or user has exactly one role:
 * `admin` everything · `editor` reads everything, writes flows/contacts/events/runs · `viewer` reads only ·
 * `ingest` posts events and nothing else (not even reads).
 */
export type Role = 'admin' | 'editor' | 'viewer' | 'ingest';

export const ROLES: readonly Role[] = ['admin', 'editor', 'viewer', 'ingest'];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * What a route touches. Editors may write the areas of EDITOR_AREAS; every other area is written by admins only
 * (`workspace` covers settings, owners, routing pools, plugins, keys, users).
 */
export type Area = 'events' | 'contacts' | 'flows' | 'runs' | 'workspace';
export type Access = 'read' | 'write';

const EDITOR_AREAS: ReadonlySet<Area> = new Set(['events', 'contacts', 'flows', 'runs']);

/** The one role check. `ingest` may only write events; `viewer` may only read. */
export function roleAllows(role: Role, access: Access, area: Area): boolean {
  switch (role) {
    case 'admin':
      return true;
    case 'editor':
      return access === 'read' || EDITOR_AREAS.has(area);
    case 'viewer':
      return access === 'read';
    case 'ingest':
      return access === 'write' && area === 'events';
  }
}
