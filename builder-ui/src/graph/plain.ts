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
