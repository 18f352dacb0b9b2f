import { navigate } from '../router.ts';
import { useEmailSettings } from './email-api.ts';

/** Shown wherever mail matters while no SMTP server is configured: nothing is being delivered. */
export function OutboxBanner({ link = true }: { link?: boolean }) {
  const settings = useEmailSettings();
  if (!settings.data || settings.data.delivery !== 'outbox') return null;
  return (
    <div role="alert" aria-label="Mail is not being delivered" style={{ background: '#fff4e6', border: '1px solid #ffc078', color: '#862e0b', borderRadius: 8, padding: '10px 14px', marginBottom: 16, display: 'flex', gap: 12, alignItems: 'center' }}>
      <strong>Mail is not being delivered.</strong>
      <span>No SMTP server is set up, so emails are kept in the Outbox instead of being sent.</span>
      {link ? <button className="btn btn-sm" onClick={() => navigate('/settings')}>Set up SMTP</button> : null}
    </div>
  );
}
