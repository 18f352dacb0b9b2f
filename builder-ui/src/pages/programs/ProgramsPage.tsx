import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, ok } from '../../api/client.ts';
import { itemsOf, useApiMutation } from '../../api/hooks.ts';
import type { LoyaltyProgram, ReferralProgram, RequestBody, Reward } from '../../api/types.ts';
import { useCan } from '../../session.ts';
import { PageHeader, formatTime } from '../../ui/common.tsx';
import { ContactLookup, DurationInput, durationLabel } from './kit.tsx';

const rewardText = (r: Reward['reward']) => (r && typeof r === 'object' && 'amount' in r ? `${(r as { amount: unknown }).amount} ${(r as { currency?: string }).currency ?? ''}`.trim() : JSON.stringify(r));
const statusColor: Record<string, string> = { pending: 'amber', granted: 'green', voided: 'gray', refused: 'red' };

function referralSummary(p: ReferralProgram): string {
  const parts = [`First ${p.qualifying_event}${p.min_amount !== undefined ? ` of at least ${p.min_amount}` : ''} pays ${rewardText(p.referrer_reward)} to the referrer and ${rewardText(p.referee_reward)} to the friend`];
  if (p.review_period) parts.push(`pending for ${durationLabel(p.review_period)}${p.void_event ? `, voided by ${p.void_event}` : ''}`);
  if (p.max_rewards_per_referrer) parts.push(`at most ${p.max_rewards_per_referrer} per referrer${p.cap_period ? ` every ${durationLabel(p.cap_period)}` : ''}`);
  return parts.join('; ');
}

function NewReferral() {
  const [f, setF] = useState({ key: '', qualifying_event: 'order.completed', min_amount: '', referrer: '10', referee: '10', currency: 'USD', void_event: '', cap: '' });
  const [review, setReview] = useState<string | undefined>('P14D');
  const [capPeriod, setCapPeriod] = useState<string | undefined>();
  const create = useApiMutation((body: RequestBody<'createReferralProgram'>) => ok(api.POST('/v1/referral-programs', { body })), [['/v1/referral-programs']]);
  const submit = () => create.mutate({
    key: f.key, qualifying_event: f.qualifying_event,
    ...(f.min_amount ? { min_amount: Number(f.min_amount) } : {}),
    referrer_reward: { type: 'credit', amount: Number(f.referrer), currency: f.currency },
    referee_reward: { type: 'credit', amount: Number(f.referee), currency: f.currency },
    ...(review ? { review_period: review } : {}), ...(f.void_event ? { void_event: f.void_event } : {}),
    ...(f.cap ? { max_rewards_per_referrer: Number(f.cap), ...(capPeriod ? { cap_period: capPeriod } : {}) } : {}),
  });
  const input = (k: keyof typeof f, label: string, type = 'text') => (
    <label className="field"><span>{label}</span><input aria-label={label} type={type} value={f[k]} onChange={(e) => setF({ ...f, [k]: e.target.value })} /></label>
  );
  return (
    <form aria-label="New referral program" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <div className="filters">
        {input('key', 'Program key')}{input('qualifying_event', 'Qualifying event')}{input('min_amount', 'Minimum amount', 'number')}
        {input('referrer', 'Referrer reward', 'number')}{input('referee', 'Friend reward', 'number')}{input('currency', 'Currency')}
      </div>
      <div className="filters">
        <DurationInput label="Review period" value={review} onChange={setReview} />
        {input('void_event', 'Voided by event (e.g. order.refunded)')}
        {input('cap', 'Most rewards per referrer', 'number')}
        <DurationInput label="Cap period" value={capPeriod} onChange={setCapPeriod} />
      </div>
      <button className="btn btn-sm btn-primary" disabled={!f.key || create.isPending}>Create referral program</button>
      {create.error ? <span className="error-text small" role="alert"> {errorMessage(create.error)}</span> : null}
    </form>
  );
}

function Ledger() {
  const [status, setStatus] = useState<Reward['status'] | ''>('');
  const [contact, setContact] = useState<{ id: string; email: string } | null>(null);
  const rewards = useQuery({
    queryKey: ['/v1/rewards', status, contact?.id],
    queryFn: ({ signal }) => ok(api.GET('/v1/rewards', { params: { query: { status: status || undefined, contact_id: contact?.id, limit: 200 } }, signal })),
  });
  return (
    <section className="card pad" aria-label="Rewards ledger">
      <h2 className="section-title">Rewards ledger{contact ? ` — ${contact.email}` : ''}</h2>
      <div className="filters">
        <select aria-label="Reward status" value={status} onChange={(e) => setStatus(e.target.value as Reward['status'] | '')}>
          <option value="">all statuses</option>{['pending', 'granted', 'voided', 'refused'].map((s) => <option key={s}>{s}</option>)}
        </select>
        {contact ? <button className="btn btn-sm btn-ghost" onClick={() => setContact(null)}>Everyone</button> : null}
      </div>
      <ContactLookup label="Contact email for the ledger" onFound={setContact} />
      <table className="table">
        <thead><tr><th>When</th><th>Program</th><th>Side</th><th>Reward</th><th>Status</th></tr></thead>
        <tbody>
          {itemsOf(rewards.data).map((r) => (
            <tr key={r.id}>
              <td>{formatTime(r.created_at)}</td><td className="mono">{r.program}</td><td>{r.role === 'referee' ? 'friend' : 'referrer'}</td><td>{r.reward === null ? '—' : rewardText(r.reward)}</td>
              <td><span className={`badge badge-${statusColor[r.status] ?? 'gray'}`}>{r.status}</span> {r.reason ? <span className="muted small">{r.reason.replace(/_/g, ' ')}</span> : null}{r.status === 'pending' && r.review_ends_at ? <span className="muted small"> until {formatTime(r.review_ends_at)}</span> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CodeLookup({ programs }: { programs: ReferralProgram[] }) {
  const [program, setProgram] = useState('');
  const [code, setCode] = useState<string | null>(null);
  const key = program || programs[0]?.key || '';
  return (
    <section className="card pad" aria-label="Referral codes">
      <h2 className="section-title">A contact's referral code</h2>
      <select aria-label="Referral program" value={key} onChange={(e) => setProgram(e.target.value)}>{programs.map((p) => <option key={p.key}>{p.key}</option>)}</select>
      <ContactLookup label="Contact email for the referral code" onFound={async (c) => setCode((await ok(api.GET('/v1/contacts/{id}/referral-code', { params: { path: { id: c.id }, query: { program: key } } }))).code)} />
      {code ? <p>Code: <b className="mono">{code}</b> — send it as <code>properties.referral_code</code> on the friend's sign-up event.</p> : null}
    </section>
  );
}

function NewLoyalty() {
  const [f, setF] = useState({ key: '', event: 'order.completed', per_unit: '1', property: 'amount', tiers: 'silver:500, gold:2000' });
  const [expiry, setExpiry] = useState<string | undefined>();
  const create = useApiMutation((body: RequestBody<'createLoyaltyProgram'>) => ok(api.POST('/v1/loyalty-programs', { body })), [['/v1/loyalty-programs']]);
  const tiers = f.tiers.split(',').map((t) => t.trim()).filter(Boolean).map((t) => ({ name: t.split(':')[0]!.trim(), min_points: Number(t.split(':')[1]) }));
  const input = (k: keyof typeof f, label: string) => <label className="field"><span>{label}</span><input aria-label={label} value={f[k]} onChange={(e) => setF({ ...f, [k]: e.target.value })} /></label>;
  return (
    <form aria-label="New loyalty program" onSubmit={(e) => { e.preventDefault(); create.mutate({ key: f.key, earn: [{ event: f.event, points_per_unit: Number(f.per_unit), ...(f.property ? { property: f.property } : {}) }], ...(expiry ? { expires_after: expiry } : {}), ...(tiers.length ? { tiers } : {}) }); }}>
      <div className="filters">
        {input('key', 'Loyalty program key')}{input('event', 'Earn on event')}{input('per_unit', 'Points per unit')}{input('property', 'Unit property (empty: flat points per event)')}
      </div>
      <div className="filters">
        <DurationInput label="Points expire after" value={expiry} onChange={setExpiry} />
        {input('tiers', 'Tiers (name:points, …)')}
      </div>
      <button className="btn btn-sm btn-primary" disabled={!f.key || create.isPending}>Create loyalty program</button>
      {create.error ? <span className="error-text small" role="alert"> {errorMessage(create.error)}</span> : null}
    </form>
  );
}

function Balance({ programs }: { programs: LoyaltyProgram[] }) {
  const [program, setProgram] = useState('');
  const [member, setMember] = useState<{ id: string; email: string; balance: number; tier: string | null } | null>(null);
  const [points, setPoints] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const canEdit = useCan('edit');
  const key = program || programs[0]?.key || '';
  const load = async (c: { id: string; email: string }) => {
    const { balance, tier } = await ok(api.GET('/v1/contacts/{id}/loyalty', { params: { path: { id: c.id }, query: { program: key } } }));
    setMember({ ...c, balance, tier });
  };
  const redeem = async () => {
    if (!member) return;
    try {
      await ok(api.POST('/v1/loyalty-programs/{key}/redeem', { params: { path: { key } }, body: { contact_id: member.id, points: Number(points), idempotency_key: `builder-${crypto.randomUUID()}` } }));
      setMessage(`Redeemed ${points} points.`);
      setPoints('');
      await load(member);
    } catch (err) {
      setMessage(errorMessage(err));
    }
  };
  return (
    <section className="card pad" aria-label="Loyalty balances">
      <h2 className="section-title">A contact's points</h2>
      <select aria-label="Loyalty program" value={key} onChange={(e) => setProgram(e.target.value)}>{programs.map((p) => <option key={p.key}>{p.key}</option>)}</select>
      <ContactLookup label="Contact email for the loyalty balance" onFound={load} />
      {member ? (
        <div>
          <p><b>{member.email}</b>: <b>{member.balance}</b> points · tier <b>{member.tier ?? 'none'}</b></p>
          {canEdit ? (
            <form className="filters" onSubmit={(e) => { e.preventDefault(); void redeem(); }}>
              <input aria-label="Points to redeem" type="number" min={1} value={points} onChange={(e) => setPoints(e.target.value)} />
              <button className="btn btn-sm" disabled={!points}>Redeem</button>
            </form>
          ) : null}
          {message ? <p className="small" role="status">{message}</p> : null}
        </div>
      ) : null}
    </section>
  );
}

/** Referral and loyalty programs: settings in plain words, the rewards ledger, per-contact codes and balances. */
export function ProgramsPage() {
  const admin = useCan('admin');
  const referrals = useQuery({ queryKey: ['/v1/referral-programs'], queryFn: ({ signal }) => ok(api.GET('/v1/referral-programs', { signal })) });
  const loyalty = useQuery({ queryKey: ['/v1/loyalty-programs'], queryFn: ({ signal }) => ok(api.GET('/v1/loyalty-programs', { signal })) });
  const refList = itemsOf(referrals.data);
  const loyList = itemsOf(loyalty.data);
  return (
    <div className="page">
      <PageHeader title="Referral & loyalty" subtitle="Programs with money attached: rewards are paid once, after review; points never overdraw." />
      <h2 className="section-title">Referral programs</h2>
      <section className="card pad" aria-label="Referral programs">
        {refList.length === 0 ? <p className="muted">No referral program yet.</p> : <ul>{refList.map((p) => <li key={p.key}><b className="mono">{p.key}</b>: {referralSummary(p)}.</li>)}</ul>}
        {admin ? <NewReferral /> : null}
      </section>
      {refList.length ? <CodeLookup programs={refList} /> : null}
      <Ledger />
      <h2 className="section-title">Loyalty programs</h2>
      <section className="card pad" aria-label="Loyalty programs">
        {loyList.length === 0 ? <p className="muted">No loyalty program yet.</p> : (
          <ul>
            {loyList.map((p) => (
              <li key={p.key}>
                <b className="mono">{p.key}</b>: {p.earn.map((e) => (e.property ? `${e.points_per_unit} point(s) per ${e.property} of ${e.event}` : `${e.points_per_unit} points per ${e.event}`)).join('; ')}
                {p.expires_after ? `; points expire after ${durationLabel(p.expires_after)}` : ''}
                {p.tiers?.length ? `; tiers ${p.tiers.map((t) => `${t.name} from ${t.min_points}`).join(', ')}` : ''}.
              </li>
            ))}
          </ul>
        )}
        {admin ? <NewLoyalty /> : null}
      </section>
      {loyList.length ? <Balance programs={loyList} /> : null}
    </div>
  );
}
