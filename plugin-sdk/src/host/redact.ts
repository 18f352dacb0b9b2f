/**
 * Credential redaction: what a plugin call hands back to its host (outputs, trigger events, error messages,
 * log lines) passes through a `Redactor` built from the call's credential values, so a token a plugin echoes
 * — by mistake or in a vendor's error body or a URL query — never reaches a step, a log or an HTTP answer.
 *
 * Each value is replaced in the forms it travels in: as is, URL-encoded (path/query and form encoding) and
 * base64 (standard and URL-safe, with and without padding). Values shorter than {@link MIN_SECRET_LENGTH}
 * are left alone: replacing every "ab" in an output would make it unreadable and protect nothing.
 */

export const REDACTED = '[REDACTED]';
export const MIN_SECRET_LENGTH = 4;

export interface Redactor {
  /** `text` with every form of every credential value replaced by `[REDACTED]`. */
  text(text: string): string;
  /** A copy of a JSON value with every string (object keys included) redacted. */
  json<T>(value: T): T;
}

function formsOf(value: string): string[] {
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  const b64url = Buffer.from(value, 'utf8').toString('base64url');
  return [
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    b64,
    b64.replace(/=+$/, ''),
    b64url,
  ];
}

const UNCHANGED: Redactor = Object.freeze({ text: (s: string) => s, json: <T>(v: T) => v });

export function createRedactor(secrets: Record<string, unknown> | readonly string[]): Redactor {
  const values = (Array.isArray(secrets) ? secrets : Object.values(secrets)).filter((v): v is string => typeof v === 'string' && v.length >= MIN_SECRET_LENGTH);
  if (values.length === 0) return UNCHANGED; // most calls: a plugin without credentials
  // Longest first, so a form that contains another (padded base64, a secret containing a shorter one) goes whole.
  const forms = [...new Set(values.flatMap(formsOf))].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  const text = (s: string): string => {
    let out = s;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
  const json = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) return value.map(json);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), json(v)]));
    return value;
  };
  if (forms.length === 0) return UNCHANGED;
  return { text, json: json as <T>(value: T) => T };
}
