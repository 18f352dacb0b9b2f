import type { DelayConfig } from '../contracts/flow.ts';
import { CairnError } from '../errors.ts';
import { addDuration, isValidTimezone, MAX_DURATION_YEARS, nextTimeOfDay, resolveDateProperty } from './duration.ts';

/** The contact's timezone when it is a valid IANA zone, else UTC. */
export const zoneOf = (timezone: string | null | undefined): string => (timezone && isValidTimezone(timezone) ? timezone : 'UTC');

/** How far ahead a run may be put to sleep: the duration bound plus slack for calendar years (366 days each). */
export const MAX_AHEAD_MS = MAX_DURATION_YEARS * 366 * 86_400_000;

/**
 * A moment a run would sleep until, refused (the step fails, a USER error) when it is not a date or lies more than
 * 100 years ahead: `renewal_date: "9999-12-31T23:59:59Z"` or a number like `8.64e15` must not reach the database,
 * which cannot store years past 294276 and reads a year past 9999 as a time zone displacement.
 */
function bounded(until: Date, now: Date, what: () => string): Date {
  if (until.getTime() - now.getTime() <= MAX_AHEAD_MS) return until;
  const shown = Number.isNaN(until.getTime()) ? 'no valid date' : until.toISOString();
  throw new CairnError('CAIRN_ERR_STEP_FAILED', `${what()} gives ${shown}, more than ${MAX_DURATION_YEARS} years ahead: runs wait at most ${MAX_DURATION_YEARS} years (docs/flows.md#delay)`);
}

/**
 * When a delay that starts at `now` ends, on the contact's wall clock. `null` when the date property is missing
 * or not a date: the run does not wait. Throws CairnError (step failed) when the end is more than 100 years ahead.
 */
export function delayUntil(config: DelayConfig, now: Date, contact: { timezone: string | null; properties: Record<string, unknown> }): Date | null {
  const zone = zoneOf(contact.timezone);
  switch (config.mode) {
    case 'duration':
      return bounded(addDuration(now, config.duration, zone), now, () => `delay of ${config.duration}`);
    case 'time_of_day':
      return nextTimeOfDay(now, config.time, zone, config.weekdays);
    case 'date_property': {
      const value = contact.properties[config.property];
      const until = resolveDateProperty(value, { offset: config.offset, time: config.time, zone });
      return until ? bounded(until, now, () => `date property ${config.property} (${JSON.stringify(value)})${config.offset ? ` with offset ${config.offset}` : ''}`) : null;
    }
  }
}

/** `now + iso` on the contact's wall clock (wait timeouts, task due dates), at most 100 years ahead. */
export function addContactDuration(now: Date, iso: string, timezone: string | null | undefined): Date {
  return bounded(addDuration(now, iso, zoneOf(timezone)), now, () => `duration ${iso}`);
}
