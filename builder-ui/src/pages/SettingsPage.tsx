import { useState } from 'react';
import { api, errorMessage, ok } from '../api/client.ts';
import { useApiMutation } from '../api/hooks.ts';
import { navigate } from '../router.ts';
import { useCan } from '../session.ts';
import { ErrorBox, PageHeader, Spinner } from '../ui/common.tsx';
import type { EmailPolicy, EmailSettings, FrequencyCap, RequestBody } from '../api/types.ts';
import { daysOf, useEmailPolicy, useEmailSettings } from './email-api.ts';
import { OutboxBanner } from './OutboxBanner.tsx';

const INVALIDATE = [['/v1/settings/email'], ['/v1/settings/email-policy']];

function Result({ error, notice }: { error: unknown; notice: string | null }) {
  if (error) return <span className="error-text small" role="alert">{errorMessage(error)}</span>;
  return notice ? <span className="ok small" role="status">{notice}</span> : null;
}

/** SMTP server (write-only URL), "send test email", back to the outbox. */
function DeliverySection({ admin }: { admin: boolean }) {
  const settings = useEmailSettings();
  if (settings.isPending) return <Spinner />;
  if (settings.error) return <ErrorBox error={settings.error} onRetry={() => settings.refetch()} />;
  return <DeliveryForm admin={admin} s={settings.data} />;
}

function DeliveryForm({ admin, s }: { admin: boolean; s: EmailSettings }) {
  const [smtpUrl, setSmtpUrl] = useState('');
  const [from, setFrom] = useState(s.delivery === 'smtp' ? s.from : '');
  const [testTo, setTestTo] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const save = useApiMutation((body: RequestBody<'putEmailSettings'>) => ok(api.PUT('/v1/settings/email', { body })), INVALIDATE);
  const remove = useApiMutation(() => ok(api.DELETE('/v1/settings/email')), INVALIDATE);
  const test = useApiMutation((to: string) => ok(api.POST('/v1/settings/email/test', { body: { to } })));
  const error = save.error ?? remove.error ?? test.error;
  return (
    <section className="card pad" aria-label="Email delivery">
      <h2 style={{ marginTop: 0 }}>Email delivery</h2>
      {s.delivery === 'smtp' ? (
        <p>Sending through <b>{s.smtp_host}</b> as <b>{s.from}</b>.</p>
      ) : (
        <p>No SMTP server: emails are kept in the <a href="/outbox" onClick={(e) => { e.preventDefault(); navigate('/outbox'); }}>Outbox</a> and not delivered.</p>
      )}
      <form onSubmit={(e) => { e.preventDefault(); setNotice(null); save.mutate({ smtp_url: smtpUrl, from }, { onSuccess: () => { setSmtpUrl(''); setNotice('Saved. The SMTP password is encrypted and never shown again.'); } }); }}>
        <label className="field"><span>SMTP server URL</span>
          <input type="password" autoComplete="new-password" value={smtpUrl} disabled={!admin} placeholder={s.delivery === 'smtp' ? '•••••• stored — type to replace' : 'smtps://user:password@smtp.example.com:465'} onChange={(e) => setSmtpUrl(e.target.value)} />
        </label>
        <label className="field"><span>Sender (From)</span>
          <input value={from} disabled={!admin} placeholder="Acme <hello@acme.com>" onChange={(e) => setFrom(e.target.value)} />
        </label>
        <div className="cred-actions">
          <button type="submit" className="btn btn-primary btn-sm" disabled={!admin || !smtpUrl || !from || save.isPending}>Save SMTP settings</button>
          {s.delivery === 'smtp' ? <button type="button" className="btn btn-sm btn-ghost" disabled={!admin} onClick={() => { setNotice(null); remove.mutate(undefined, { onSuccess: () => setNotice('SMTP removed: emails now go to the outbox.') }); }}>Remove SMTP (use the outbox)</button> : null}
        </div>
      </form>
      <form style={{ marginTop: 16 }} onSubmit={(e) => { e.preventDefault(); setNotice(null); test.mutate(testTo, { onSuccess: (r) => setNotice(`Test email accepted by ${r.smtp_host}.`) }); }}>
        <label className="field"><span>Send a test email to</span>
          <input type="email" value={testTo} disabled={!admin} placeholder="you@acme.com" onChange={(e) => setTestTo(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-sm" disabled={!admin || !testTo || s.delivery !== 'smtp' || test.isPending}>Send test email</button>
      </form>
      <p><Result error={error} notice={notice} /></p>
    </section>
  );
}

/** Quiet hours, frequency caps and tracking, in days and clock times; saved as one policy. */
function PolicySection({ admin }: { admin: boolean }) {
  const policy = useEmailPolicy();
  if (policy.isPending) return <Spinner />;
  if (policy.error) return <ErrorBox error={policy.error} onRetry={() => policy.refetch()} />;
  return <PolicyForm admin={admin} initial={policy.data} />;
}

function PolicyForm({ admin, initial }: { admin: boolean; initial: EmailPolicy }) {
  const [draft, setDraft] = useState<EmailPolicy>(initial);
  const [notice, setNotice] = useState<string | null>(null);
  const save = useApiMutation((body: RequestBody<'putEmailPolicy'>) => ok(api.PUT('/v1/settings/email-policy', { body })), INVALIDATE);
  const set = (patch: Partial<EmailPolicy>) => { setNotice(null); setDraft({ ...draft, ...patch }); };
  const setCap = (i: number, patch: Partial<FrequencyCap>) => set({ frequency_caps: draft.frequency_caps.map((c, j) => (j === i ? { ...c, ...patch } : c)) });
  const quiet = draft.quiet_hours;
  return (
    <section className="card pad" aria-label="Sending rules">
      <h2 style={{ marginTop: 0 }}>Sending rules</h2>
      <fieldset className="fieldset">
        <legend>Quiet hours</legend>
        <label className="check"><input type="checkbox" checked={!!quiet} disabled={!admin} onChange={(e) => set({ quiet_hours: e.target.checked ? { start: '21:00', end: '08:00' } : null })} /> Do not send marketing email at night (contact's own time zone)</label>
        {quiet ? (
          <div style={{ display: 'flex', gap: 12, marginTop: 8 }}>
            <label className="field-inline">From <input type="time" aria-label="Quiet hours from" value={quiet.start} disabled={!admin} onChange={(e) => set({ quiet_hours: { ...quiet, start: e.target.value } })} /></label>
            <label className="field-inline">until <input type="time" aria-label="Quiet hours until" value={quiet.end} disabled={!admin} onChange={(e) => set({ quiet_hours: { ...quiet, end: e.target.value } })} /></label>
          </div>
        ) : null}
        <div className="hint small muted">A message due inside them waits until they end. Transactional email is never held.</div>
      </fieldset>
      <fieldset className="fieldset">
        <legend>Frequency caps</legend>
        {draft.frequency_caps.map((c, i) => {
          const days = daysOf(c.within);
          return (
            <div key={i} className="exit-row" style={{ alignItems: 'center' }}>
              <span className="small">At most</span>
              <input type="number" min={0} aria-label={`Cap ${i + 1} maximum`} style={{ width: 70 }} value={c.max} disabled={!admin} onChange={(e) => setCap(i, { max: Number(e.target.value) })} />
              <input aria-label={`Cap ${i + 1} category`} style={{ width: 130 }} value={c.category} disabled={!admin} onChange={(e) => setCap(i, { category: e.target.value })} />
              <span className="small">emails per</span>
              {days !== null || c.within === '' ? (
                <input type="number" min={1} aria-label={`Cap ${i + 1} days`} style={{ width: 70 }} value={days ?? ''} disabled={!admin} onChange={(e) => setCap(i, { within: `P${e.target.value}D` })} />
              ) : <code>{c.within}</code>}
              <span className="small">days</span>
              <button type="button" className="btn btn-sm btn-ghost" aria-label={`Remove cap ${i + 1}`} disabled={!admin} onClick={() => set({ frequency_caps: draft.frequency_caps.filter((_, j) => j !== i) })}>Remove</button>
            </div>
          );
        })}
        <button type="button" className="btn btn-sm btn-ghost" disabled={!admin} onClick={() => set({ frequency_caps: [...draft.frequency_caps, { category: 'marketing', max: 3, within: 'P7D' }] })}>Add a cap</button>
        <div className="hint small muted">Counted per contact across all flows; a capped email is skipped and the flow goes on. Transactional email is exempt.</div>
      </fieldset>
      <fieldset className="fieldset">
        <legend>Tracking</legend>
        <label className="check"><input type="checkbox" checked={draft.tracking} disabled={!admin} onChange={(e) => set({ tracking: e.target.checked })} /> Record opens and link clicks (email.opened, email.clicked)</label>
      </fieldset>
      <div className="cred-actions">
        <button type="button" className="btn btn-primary btn-sm" disabled={!admin || save.isPending} onClick={() => save.mutate(draft, { onSuccess: () => setNotice('Sending rules saved.') })}>Save sending rules</button>
        <Result error={save.error} notice={notice} />
      </div>
    </section>
  );
}

/** Workspace settings: email delivery and sending rules. */
export function SettingsPage() {
  const admin = useCan('admin');
  return (
    <div className="page">
      <PageHeader title="Settings" subtitle={admin ? 'Email delivery and the rules every flow\'s emails follow' : 'Only admins can change settings'} />
      <OutboxBanner link={false} />
      <div style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 16, alignItems: 'start' }}>
        <DeliverySection admin={admin} />
        <PolicySection admin={admin} />
      </div>
    </div>
  );
}
