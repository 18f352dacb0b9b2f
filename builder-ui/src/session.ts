import { createContext, useContext } from 'react';
import type { Me, Role } from './api/types.ts';

/** Who is signed in, and what their role lets them do — every screen asks `useCan` before showing a control. */
export const SessionContext = createContext<Me | null>(null);

export type Ability = 'edit' | 'publish' | 'operate' | 'admin';

const ABILITIES: Record<Role, Ability[]> = {
  admin: ['edit', 'publish', 'operate', 'admin'],
  editor: ['edit', 'publish', 'operate'],
  viewer: [],
  ingest: [],
};

export function can(role: Role | undefined, ability: Ability): boolean {
  return !!role && ABILITIES[role]?.includes(ability);
}

export function useSession(): Me | null {
  return useContext(SessionContext);
}

export function useCan(ability: Ability): boolean {
  return can(useSession()?.role, ability);
}
