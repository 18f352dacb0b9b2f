/**
 * The facts a condition may name, and what each accepts. `params` is json-rules-engine's per-condition argument
 * to a fact; a fact that takes none would silently ignore it, so validation refuses `params` there.
 */
export interface FactSpec {
  /** Whether conditions may (and must, if the fact says so) pass json-rules-engine `params` to this fact. */
  takesParams: boolean;
}

export const CONDITION_FACTS: Readonly<Record<string, FactSpec>> = {
  contact: { takesParams: false },
  event: { takesParams: false },
  run: { takesParams: false },
  // Behavioural attributes: `{ event, measure, within? }` (docs/segments.md). Read in segment rules and flow conditions.
  activity: { takesParams: true },
};

export const isConditionFact = (name: unknown): name is string => typeof name === 'string' && Object.hasOwn(CONDITION_FACTS, name);

/** `"contact", "event" or "run"`: for messages. */
export function factList(): string {
  const names = Object.keys(CONDITION_FACTS).map((n) => `"${n}"`);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('');
}
