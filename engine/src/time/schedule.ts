import { CronExpressionParser } from 'cron-parser';

/** The next time a cron expression fires after `after`, on the wall clock of `timezone` (IANA). */
export function nextCronTime(cron: string, timezone: string, after: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: after, tz: timezone }).next().toDate();
}

/** The first `next_at` of a flow whose trigger is a clock, when it is published or resumed. */
export function initialTimer(trigger: { type: string; config: Record<string, unknown> }, now: Date): { next_at: Date; scanned_until: Date | null } | null {
  if (trigger.type === 'trigger.schedule') {
    return { next_at: nextCronTime(String(trigger.config.cron), String(trigger.config.timezone ?? 'UTC'), now), scanned_until: null };
  }
  if (trigger.type === 'trigger.date') return { next_at: now, scanned_until: now };
  return null;
}
