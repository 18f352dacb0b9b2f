import { parseDuration } from '../time/duration.ts';
import type { ProblemItem } from '../errors.ts';

export const programKey = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' } as const;
export const eventType = { type: 'string', minLength: 1, maxLength: 200 } as const;
export const durationText = { type: 'string', maxLength: 64 } as const;

/** Each named duration must be a positive ISO 8601 duration; problems point at it. */
export function checkDurations(body: Record<string, unknown>, names: string[]): ProblemItem[] {
  const problems: ProblemItem[] = [];
  for (const name of names) {
    const v = body[name];
    if (typeof v !== 'string') continue;
    const d = parseDuration(v);
    if (!d || d.negative || d.addTo(new Date(0)).getTime() <= 0) problems.push({ path: `/${name}`, message: `must be a positive ISO 8601 duration such as "P30D", got "${v}"` });
  }
  return problems;
}

/** A program key given in the URL or query that names no program of the workspace: 400 pointing at it. */
export const unknownProgram = (kind: string, key: string): ProblemItem => ({ path: '/program', message: `no ${kind} program "${key}" in this workspace` });
