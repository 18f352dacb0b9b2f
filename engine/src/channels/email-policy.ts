import { DateTime, Duration } from 'luxon';
import type { Db } from '../db/index.ts';
import { parseTimeOfDay } from '../time/duration.ts';

/** A daily window, on the contact's wall clock, in which no email is sent. `start` > `end` spans midnight. */
export interface QuietHours {
  start: string;
  end: string;
}

/** At most `max` messages of `category` per contact in any rolling `within` (ISO 8601 duration). */
export interface FrequencyCap {
  category: string;
  max: number;
  within: string;
}

export interface EmailPolicy {
  quiet_hours: QuietHours | null;
  frequency_caps: FrequencyCap[];
  /** Open pixel and click rewriting on non-transactional messages. */
  tracking: boolean;
}

/** `transactional` email (receipts, password resets) ignores quiet hours, caps and unsubscribes. */
export const TRANSACTIONAL = 'transactional';
/** The category of a message that names none. */
export const DEFAULT_CATEGORY = 'marketing';

export const DEFAULT_POLICY: Readonly<EmailPolicy> = Object.freeze({ quiet_hours: null, frequency_caps: [], tracking: true });

const hhmm = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: '24-hour "HH:MM"' } as const;

export const quietHoursSchema = {
  type: 'object', additionalProperties: false, required: ['start', 'end'],
  properties: { start: hhmm, end: hhmm },
} as const;

/** Body of PUT /v1/settings/email-policy (the duration format is checked in code, with its path). */
export const emailPolicySchema = {
  type: 'object', additionalProperties: false,
  properties: {
    quiet_hours: { anyOf: [{ type: 'null' }, quietHoursSchema] },
    frequency_caps: {
      type: 'array', maxItems: 20,
      items: {
        type: 'object', additionalProperties: false, required: ['category', 'max', 'within'],
        properties: {
          category: { type: 'string', minLength: 1, maxLength: 64, not: { const: TRANSACTIONAL } },
          max: { type: 'integer', minimum: 0, maximum: 1000 },
          within: { type: 'string', minLength: 3, maxLength: 40 },
        },
      },
    },
    tracking: { type: 'boolean' },
  },
} as const;

export async function loadEmailPolicy(db: Db, workspaceId: string): Promise<EmailPolicy> {
  const row = await db('email_policies').where({ workspace_id: workspaceId }).first<EmailPolicy | undefined>('quiet_hours', 'frequency_caps', 'tracking');
  return row ?? { ...DEFAULT_POLICY };
}

/** Replaces the fields given; the others keep their stored (or default) values. */
export async function putEmailPolicy(db: Db, workspaceId: string, patch: Partial<EmailPolicy>, now: Date): Promise<EmailPolicy> {
  const next = { ...(await loadEmailPolicy(db, workspaceId)), ...patch };
  await db.raw(
    `INSERT INTO email_policies (workspace_id, quiet_hours, frequency_caps, tracking, updated_at) VALUES (?, ?::jsonb, ?::jsonb, ?, ?)
     ON CONFLICT (workspace_id) DO UPDATE SET quiet_hours = EXCLUDED.quiet_hours, frequency_caps = EXCLUDED.frequency_caps,
       tracking = EXCLUDED.tracking, updated_at = EXCLUDED.updated_at`,
    [workspaceId, JSON.stringify(next.quiet_hours), JSON.stringify(next.frequency_caps), next.tracking, now],
  );
  return next;
}

/**
 * When `now` falls inside the quiet hours on the contact's wall clock, the next moment mail may go (the window's
 * end, today or tomorrow, in that zone — so 08:00 stays 08:00 across a DST change); else null.
 */
export function quietUntil(now: Date, quiet: QuietHours, zone: string): Date | null {
  const start = parseTimeOfDay(quiet.start)!;
  const end = parseTimeOfDay(quiet.end)!;
  const s = start.hour * 60 + start.minute;
  const e = end.hour * 60 + end.minute;
  if (s === e) return null;
  const local = DateTime.fromJSDate(now, { zone });
  const m = local.hour * 60 + local.minute;
  const inside = s < e ? m >= s && m < e : m >= s || m < e;
  if (!inside) return null;
  let until = local.set({ hour: end.hour, minute: end.minute, second: 0, millisecond: 0 });
  if (until <= local) until = until.plus({ days: 1 });
  return until.toJSDate();
}

/** The start of a cap's rolling window ending at `now`. */
export function windowStart(now: Date, within: string): Date {
  return DateTime.fromJSDate(now, { zone: 'UTC' }).minus(Duration.fromISO(within)).toJSDate();
}
