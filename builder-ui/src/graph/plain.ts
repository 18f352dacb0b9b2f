/**
 * The ops admin's words ⇄ the flow format's values: "3 days" ⇄ `P3D`, "30 days before" ⇄ `-P30D`, "9am" ⇄
 * `09:00`. The builder shows and accepts the words; documents and the API keep the ISO values.
 */

const UNITS: Array<{ iso: string; time: boolean; names: string[]; singular: string; plural: string }> = [
  { iso: 'Y', time: false, names: ['y', 'yr', 'yrs', 'year', 'years'], singular: 'year', plural: 'years' },
  { iso: 'M', time: false, names: ['mo', 'mon', 'mos', 'month', 'months'], singular: 'month', plural: 'months' },
  { iso: 'W', time: false, names: ['w', 'wk', 'wks', 'week', 'weeks'], singular: 'week', plural: 'weeks' },
  { iso: 'D', time: false, names: ['d', 'day', 'days'], singular: 'day', plural: 'days' },
  { iso: 'H', time: true, names: ['h', 'hr', 'hrs', 'hour', 'hours'], singular: 'hour', plural: 'hours' },
  { iso: 'M', time: true, names: ['m', 'min', 'mins', 'minute', 'minutes'], singular: 'minute', plural: 'minutes' },
  { iso: 'S', time: true, names: ['s', 'sec', 'secs', 'second', 'seconds'], singular: 'second', plural: 'seconds' },
];

const ISO = /^(-)?P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * "3 days", "2 hours 30 minutes", "1 week and 2 days", "90 min", "3d", "30 days before" (signed only) → ISO 8601.
 * ISO text is accepted as it is. Returns null for anything else (including a sign where none is allowed).
 */
export function parseDuration(text: string, opts: { signed?: boolean } = {}): string | null {
  let t = text.trim().toLowerCase();
  if (!t) return null;
  if (ISO.test(text.trim().toUpperCase())) {
    const iso = text.trim().toUpperCase();
    return iso.startsWith('-') && !opts.signed ? null : iso;
  }
  let negative = false;
  if (t.startsWith('-')) { negative = true; t = t.slice(1).trim(); }
  const before = /\s+(before|earlier|ago)$/.exec(t);
  const after = /\s+(after|later)$/.exec(t);
  if (before) { negative = !negative; t = t.slice(0, before.index); }
  else if (after) t = t.slice(0, after.index);
  if (/^(0|none|no wait|immediately|same day|on the day)$/.test(t)) return 'P0D';
  const parts = t.replace(/,|\band\b/g, ' ').match(/(\d+(?:\.\d+)?)\s*([a-z]+)/g);
  if (!parts || parts.join('').replace(/\s/g, '') !== t.replace(/,|\band\b/g, '').replace(/\s/g, '')) return null;
  const amounts = new Map<(typeof UNITS)[number], number>();
  for (const part of parts) {
    const [, n, name] = /(\d+(?:\.\d+)?)\s*([a-z]+)/.exec(part)!;
    const unit = UNITS.find((u) => u.names.includes(name!));
    if (!unit || amounts.has(unit)) return null;
    const value = Number(n);
    if (!Number.isInteger(value) && unit.iso !== 'S') return null;
    amounts.set(unit, value);
  }
  if (negative && !opts.signed) return null;
  const date = UNITS.filter((u) => !u.time && amounts.has(u)).map((u) => `${amounts.get(u)}${u.iso}`).join('');
  const time = UNITS.filter((u) => u.time && amounts.has(u)).map((u) => `${amounts.get(u)}${u.iso}`).join('');
  return `${negative ? '-' : ''}P${date}${time ? `T${time}` : ''}`;
}

/** `P3D` → "3 days", `-P30D` → "30 days before", `PT2H30M` → "2 hours 30 minutes"; other text comes back as is. */
export function formatDuration(iso: string | undefined | null): string {
  if (!iso) return '';
  const m = ISO.exec(iso);
  if (!m) return iso;
  const values = [m[2], m[3], m[4], m[5], m[6], m[7], m[8]];
  const words = UNITS.map((u, i) => ({ u, n: values[i] === undefined ? 0 : Number(values[i]) }))
    .filter(({ n }) => n > 0)
    .map(({ u, n }) => `${n} ${n === 1 ? u.singular : u.plural}`);
  if (!words.length) return m[1] ? 'no offset' : 'no wait';
  return `${words.join(' ')}${m[1] ? ' before' : ''}`;
}

/** "9am", "9:30 pm", "17:00", "9" → `HH:mm` (24-hour); null when it is not a time of day. */
export function parseTimeOfDay(text: string): string | null {
  const m = /^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*$/i.exec(text);
  if (!m) return null;
  let h = Number(m[1]);
  const min = m[2] === undefined ? 0 : Number(m[2]);
  const half = m[3]?.toLowerCase().replace(/\./g, '');
  if (half) {
    if (h < 1 || h > 12) return null;
    h = (h % 12) + (half === 'pm' ? 12 : 0);
  }
  if (h > 23 || min > 59) return null;
  return `${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}`;
}

/** Splits help text on `code` spans: odd items are code. */
export function codeSpans(text: string): string[] {
  return text.split('`');
}

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const DAY_TITLES = ['Sundays', 'Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays'];
const CRON = /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s*$/;
const CRON_MACRO = /^\s*@(yearly|annually|monthly|weekly|daily|hourly)\s*$/i;

/** "weekdays", "every day", "mondays and fridays", "mon, wed" → the cron weekday field; null if not days. */
function parseDays(text: string): string | null {
  const t = text.trim().replace(/^(on|every|each)\s+/, '').trim();
  if (/^(day|days|daily)$/.test(t)) return '*';
  if (/^(weekday|weekdays|working days|business days|monday\s*(to|-|–|through)\s*friday|mon\s*(to|-|–)\s*fri)$/.test(t)) return '1-5';
  if (/^(weekend|weekends|saturday and sunday|sat and sun)$/.test(t)) return '0,6';
  const days = t.split(/\s*(?:,|\band\b|&)\s*/).filter(Boolean).map((d) => DAY_NAMES.findIndex((n) => d.replace(/s$/, '') === n || (d.length >= 3 && n.startsWith(d))));
  if (!days.length || days.some((d) => d < 0)) return null;
  return [...new Set(days)].sort((a, b) => a - b).join(',');
}

/**
 * A schedule typed in words → a five-field cron expression read in the trigger's timezone: "09:00 on weekdays"
 * → `0 9 * * 1-5`, "9am every day" → `0 9 * * *`, "Mondays at 08:30" → `30 8 * * 1`, "every hour" → `0 * * * *`.
 * Cron text is accepted as it is. Null for anything else.
 */
export function parseSchedule(text: string): string | null {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!t) return null;
  if (CRON_MACRO.test(t)) return t;
  if (CRON.test(t) && /^[\d*,/\-\sA-Za-z?LW#]+$/.test(t) && /[\d*]/.test(t.split(' ')[0]!)) return text.trim();
  if (/^(every|each) hour$|^hourly$/.test(t)) return '0 * * * *';
  const at = (time: string, days: string) => {
    const hm = parseTimeOfDay(time);
    const dow = parseDays(days);
    if (!hm || !dow) return null;
    const [h, m] = hm.split(':').map(Number);
    return `${m} ${h} * * ${dow}`;
  };
  let m = /^(?:at )?(.+?) (?:on |every |each )(.+)$/.exec(t);
  if (m) return at(m[1]!, m[2]!);
  m = /^(?:on |every |each )?(.+?) at (.+)$/.exec(t);
  if (m) return at(m[2]!, m[1]!);
  m = /^(?:at )?(.+?) daily$/.exec(t);
  if (m) return at(m[1]!, 'day');
  return parseTimeOfDay(t) ? at(t, 'day') : null;
}

/** `0 9 * * 1-5` → "09:00 on weekdays", `0 9 * * *` → "09:00 every day"; any other cron comes back as is. */
export function describeSchedule(cron: string | undefined | null): string {
  if (!cron) return '';
  const t = cron.trim();
  if (t === '0 * * * *') return 'every hour';
  const m = /^(\d{1,2}) (\d{1,2}) \* \* (\S+)$/.exec(t);
  if (!m || Number(m[1]) > 59 || Number(m[2]) > 23) return t;
  const time = `${m[2]!.padStart(2, '0')}:${m[1]!.padStart(2, '0')}`;
  const dow = m[3]!;
  if (dow === '*') return `${time} every day`;
  if (dow === '1-5') return `${time} on weekdays`;
  if (dow === '0,6' || dow === '6,0') return `${time} on weekends`;
  if (!/^[0-6](,[0-6])*$/.test(dow)) return t;
  const names = dow.split(',').map((d) => DAY_TITLES[Number(d)]!);
  return `${time} on ${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]}`;
}
