import { useState } from 'react';
import { api, errorMessage, ok } from '../../api/client.ts';

/** Durations in the ops admin's words ("14 days"); the API keeps ISO 8601 ("P14D"). */
const UNITS = [
  { key: 'hours', iso: (n: number) => `PT${n}H`, re: /^PT(\d+)H$/ },
  { key: 'days', iso: (n: number) => `P${n}D`, re: /^P(\d+)D$/ },
  { key: 'weeks', iso: (n: number) => `P${n * 7}D`, re: /^$/ },
] as const;

export function durationLabel(iso: string | null | undefined): string {
  if (!iso) return '—';
  for (const u of UNITS) {
    const m = u.re.exec(iso);
    if (m) return `${m[1]} ${Number(m[1]) === 1 ? u.key.slice(0, -1) : u.key}`;
  }
  return iso;
}

/** A number and a unit; empty means "not set". */
export function DurationInput({ label, value, onChange }: { label: string; value: string | undefined; onChange: (iso: string | undefined) => void }) {
  const parsed = UNITS.map((u) => ({ u, m: value ? u.re.exec(value) : null })).find((x) => x.m);
  const [unit, setUnit] = useState<string>(parsed?.u.key ?? 'days');
  const amount = parsed?.m?.[1] ?? '';
  const emit = (n: string, k: string) => {
    const num = Number(n);
    onChange(n === '' || !Number.isInteger(num) || num <= 0 ? undefined : UNITS.find((u) => u.key === k)!.iso(num));
  };
  return (
    <label className="field">
      <span>{label}</span>
      <span className="field-inline">
        <input aria-label={`${label} amount`} type="number" min={1} step={1} style={{ width: 90 }} value={amount} onChange={(e) => emit(e.target.value, unit)} />
        <select aria-label={`${label} unit`} value={unit} onChange={(e) => { setUnit(e.target.value); emit(amount, e.target.value); }}>
          {UNITS.map((u) => <option key={u.key} value={u.key}>{u.key}</option>)}
        </select>
      </span>
    </label>
  );
}

/** Finds a contact by email (exact, case-insensitive): the pages look people up the way ops do. */
export async function contactByEmail(email: string): Promise<{ id: string; email: string } | null> {
  const found = (await ok(api.GET('/v1/contacts', { params: { query: { email } } }))).items[0];
  return found ? { id: found.id, email: found.email ?? email } : null;
}

/** An email box and a button; `onFound` gets the contact id, or an error is shown. */
export function ContactLookup({ label, onFound }: { label: string; onFound: (contact: { id: string; email: string }) => Promise<void> | void }) {
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const go = async () => {
    setError(null);
    try {
      const c = await contactByEmail(email.trim());
      if (!c) setError(`No contact with email ${email.trim()}`);
      else await onFound(c);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <form className="filters" onSubmit={(e) => { e.preventDefault(); void go(); }}>
      <input aria-label={label} type="email" placeholder="contact email" value={email} onChange={(e) => setEmail(e.target.value)} />
      <button className="btn btn-sm" type="submit" disabled={!email.trim()}>Look up</button>
      {error ? <span className="error-text small" role="alert">{error}</span> : null}
    </form>
  );
}
