import type { DelayConfig } from '../contracts/flow.ts';
import { addDuration, isValidTimezone, nextTimeOfDay, resolveDateProperty } from './duration.ts';

/** The contact's timezone when it is a valid IANA zone, else UTC. */
export const zoneOf = (timezone: string | null | undefined): string => (timezone && isValidTimezone(timezone) ? timezone : 'UTC');

/**
 * When a delay that starts at `now` ends, on the contact's wall clock. `null` when the date property is missing
 * or not a date: the run does not wait.
 */
export function delayUntil(config: DelayConfig, now: Date, contact: { timezone: string | null; properties: Record<string, unknown> }): Date | null {
  const zone = zoneOf(contact.timezone);
  switch (config.mode) {
    case 'duration':
      return addDuration(now, config.duration, zone);
    case 'time_of_day':
      return nextTimeOfDay(now, config.time, zone, config.weekdays);
    case 'date_property':
      return resolveDateProperty(contact.properties[config.property], { offset: config.offset, time: config.time, zone }) ?? null;
  }
}

export function addContactDuration(now: Date, iso: string, timezone: string | null | undefined): Date {
  return addDuration(now, iso, zoneOf(timezone));
}
