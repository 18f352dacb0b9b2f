import { DateTime, Duration, IANAZone } from 'luxon';

/**
 * ISO 8601 durations (`P3D`, `PT2H`, `P1W`, `-P30D`) and wall-clock arithmetic in a timezone. Luxon does the
 * calendar math: `P1D` is one calendar day in the zone (09:00 stays 09:00 across a DST change), `PT24H` is 24
 * elapsed hours. Luxon alone accepts too much (`P`, `PT`, `P-3D`), hence the strict grammar in front of it.
 */
const GRAMMAR = /^(-)?P(?!$)(?:\d{1,6}Y)?(?:\d{1,6}M)?(?:\d{1,6}W)?(?:\d{1,6}D)?(?:T(?=\d)(?:\d{1,6}H)?(?:\d{1,6}M)?(?:\d{1,9}(?:\.\d{1,3})?S)?)?$/;

export interface ParsedDuration {
  /** The text as given. */
  iso: string;
  /** True for a leading `-` (offsets before a date). */
  negative: boolean;
  /** The duration with its sign applied. */
  duration: Duration;
  /** `date + duration`, computed on the wall clock of `zone` (IANA, default UTC). */
  addTo(date: Date, zone?: string): Date;
  /** `date - duration`, likewise. */
  subtractFrom(date: Date, zone?: string): Date;
}

const cache = new Map<string, ParsedDuration | null>();

/** Parses a duration, or returns undefined when it is not one. Results are cached: durations come from flows. */
export function parseDuration(text: string): ParsedDuration | undefined {
  const hit = cache.get(text);
  if (hit !== undefined) return hit ?? undefined;
  const parsed = parseUncached(text);
  if (cache.size > 10_000) cache.clear();
  cache.set(text, parsed ?? null);
  return parsed;
}

function parseUncached(text: string): ParsedDuration | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const m = GRAMMAR.exec(text);
  if (!m) return undefined;
  const negative = m[1] === '-';
  const base = Duration.fromISO(negative ? text.slice(1) : text);
  if (!base.isValid) return undefined;
  const duration = negative ? base.negate() : base;
  // Without years or months, a duration on the UTC clock is a fixed number of milliseconds (UTC has no DST):
  // plain arithmetic, the same instant luxon computes, without its cost (segment rules shift times per contact).
  const fixedMs = duration.years === 0 && duration.quarters === 0 && duration.months === 0 ? duration.toMillis() : null;
  const shift = (date: Date, zone: string, sign: 1 | -1): Date => {
    if (fixedMs !== null && zone === 'UTC') return new Date(date.getTime() + sign * fixedMs);
    const start = DateTime.fromJSDate(date, { zone });
    if (!start.isValid) throw new RangeError(`"${zone}" is not an IANA timezone such as "Europe/Paris"`);
    return (sign === 1 ? start.plus(duration) : start.minus(duration)).toJSDate();
  };
  return {
    iso: text,
    negative,
    duration,
    addTo: (date, zone = 'UTC') => shift(date, zone, 1),
    subtractFrom: (date, zone = 'UTC') => shift(date, zone, -1),
  };
}

/**
 * The longest duration a flow may hold (delays, waits, offsets, due dates, `withinLast`): 100 years, counting a
 * year as 365 days and a month as 30 (so `P100Y`, `P1200M`, `P36500D`, `PT876000H`). Luxon cannot place dates
 * much past the year 275760 at all, and PostgreSQL none past 294276; a bound far inside both keeps every moment
 * the engine computes storable. See docs/flows.md.
 */
export const MAX_DURATION_YEARS = 100;
const MAX_DURATION_MS = Duration.fromObject({ years: MAX_DURATION_YEARS }).toMillis();

/** Whether a parsed duration is within ±MAX_DURATION_YEARS. */
const withinBound = (d: ParsedDuration): boolean => Math.abs(d.duration.toMillis()) <= MAX_DURATION_MS;

/** Whether `text` is a duration (of at most 100 years); `signed` allows a leading `-` (offsets). */
export function isValidDuration(text: unknown, opts: { signed?: boolean } = {}): boolean {
  if (typeof text !== 'string') return false;
  const d = parseDuration(text);
  return d !== undefined && (opts.signed === true || !d.negative) && withinBound(d);
}

/** Whether `text` parses as a duration but is longer than the bound (for a precise validation message). */
export function isTooLongDuration(text: unknown): boolean {
  const d = typeof text === 'string' ? parseDuration(text) : undefined;
  return d !== undefined && !withinBound(d);
}

/** `date + duration` on the wall clock of `zone`. Throws RangeError on a bad duration or zone. */
export function addDuration(date: Date, iso: string, zone = 'UTC'): Date {
  const d = parseDuration(iso);
  if (!d) throw new RangeError(`"${iso}" is not an ISO 8601 duration such as "P3D" or "PT2H"`);
  return d.addTo(date, zone);
}

/** The duration in milliseconds of elapsed time from `from` (calendar-aware), e.g. for backoff. */
export function durationMs(iso: string, from: Date, zone = 'UTC'): number {
  return addDuration(from, iso, zone).getTime() - from.getTime();
}

export function isValidTimezone(zone: unknown): zone is string {
  return typeof zone === 'string' && zone.length <= 64 && IANAZone.isValidZone(zone);
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** `HH:mm` → hour and minute, or undefined. */
export function parseTimeOfDay(text: unknown): { hour: number; minute: number } | undefined {
  if (typeof text !== 'string') return undefined;
  const m = TIME.exec(text);
  return m ? { hour: Number(m[1]), minute: Number(m[2]) } : undefined;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

/**
 * The first moment strictly after `after` when the wall clock of `zone` shows `time` (on one of `weekdays`,
 * if given). A local time skipped by a DST jump resolves to luxon's shifted instant that day.
 */
export function nextTimeOfDay(after: Date, time: string, zone = 'UTC', weekdays?: readonly WeekdayName[]): Date {
  const t = parseTimeOfDay(time);
  if (!t) throw new RangeError(`"${time}" is not a time of day such as "09:00"`);
  const start = DateTime.fromJSDate(after, { zone });
  if (!start.isValid) throw new RangeError(`"${zone}" is not an IANA timezone such as "Europe/Paris"`);
  const allowed = weekdays && weekdays.length > 0 ? new Set(weekdays.map((w) => WEEKDAYS.indexOf(w) + 1)) : undefined;
  for (let i = 0; i <= 8; i++) {
    const day = start.plus({ days: i }).set({ hour: t.hour, minute: t.minute, second: 0, millisecond: 0 });
    if (day.toMillis() <= after.getTime()) continue;
    if (allowed && !allowed.has(day.weekday)) continue;
    return day.toJSDate();
  }
  throw new RangeError('no matching weekday'); // unreachable: every weekday occurs within 8 days
}

/**
 * A contact date property (`2026-05-01` or an RFC 3339 time), shifted by `offset` and, if given, placed at
 * `time` on that day, all on the wall clock of `zone`. Undefined when the property is not a date.
 */
export function resolveDateProperty(value: unknown, opts: { offset?: string; time?: string; zone?: string } = {}): Date | undefined {
  const zone = opts.zone ?? 'UTC';
  let dt: DateTime;
  if (value instanceof Date) dt = DateTime.fromJSDate(value, { zone });
  else if (typeof value === 'string') dt = DateTime.fromISO(value, { zone, setZone: false });
  else if (typeof value === 'number') dt = DateTime.fromMillis(value, { zone });
  else return undefined;
  if (!dt.isValid) return undefined;
  if (opts.offset) {
    const d = parseDuration(opts.offset);
    if (!d) throw new RangeError(`"${opts.offset}" is not an ISO 8601 duration such as "-P30D"`);
    dt = dt.plus(d.duration);
  }
  if (opts.time) {
    const t = parseTimeOfDay(opts.time);
    if (!t) throw new RangeError(`"${opts.time}" is not a time of day such as "09:00"`);
    dt = dt.set({ hour: t.hour, minute: t.minute, second: 0, millisecond: 0 });
  }
  return dt.toJSDate();
}
