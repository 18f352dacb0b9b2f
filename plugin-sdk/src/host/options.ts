import type { JsonValue } from '../schema.ts';

/** Bounds of a dynamic-options answer, the same in the engine and the test harness. */
export const MAX_OPTION_CHOICES = 1000;
export const MAX_OPTION_LABEL = 200;
export const MAX_OPTION_VALUE = 500;

export interface CheckedChoice {
  value: string | number;
  label: string;
}

/** Checks what a dynamic-options function returned: a list of `{ value, label }` within the bounds, or why not. */
export function checkOptionChoices(value: JsonValue): { ok: true; choices: CheckedChoice[] } | { ok: false; message: string } {
  if (!Array.isArray(value)) return { ok: false, message: 'an options function must return a list of { value, label }' };
  if (value.length > MAX_OPTION_CHOICES) return { ok: false, message: `an options function returned ${value.length} choices; at most ${MAX_OPTION_CHOICES}` };
  const choices: CheckedChoice[] = [];
  for (const [i, c] of value.entries()) {
    const item = c as { value?: unknown; label?: unknown } | null;
    const v = item?.value;
    const okValue = (typeof v === 'string' && v.length <= MAX_OPTION_VALUE) || (typeof v === 'number' && Number.isFinite(v));
    if (!item || typeof item !== 'object' || !okValue || typeof item.label !== 'string' || item.label.length > MAX_OPTION_LABEL) {
      return { ok: false, message: `choice ${i} must be { value: string (≤ ${MAX_OPTION_VALUE}) | number, label: string (≤ ${MAX_OPTION_LABEL}) }` };
    }
    choices.push({ value: v as string | number, label: item.label });
  }
  return { ok: true, choices };
}
