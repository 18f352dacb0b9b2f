import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, ok } from '../../api/client.ts';
import { useApiMutation } from '../../api/hooks.ts';
import type { ContactScore, RequestBody, ScoringModel, ScoringRule } from '../../api/types.ts';
import { useCan } from '../../session.ts';
import { ErrorBox, PageHeader, Spinner, formatTime } from '../../ui/common.tsx';
import { ContactLookup, DurationInput } from './kit.tsx';

type ModelBody = RequestBody<'putScoring'>;

/** A rule as its form holds it (text fields). */
interface RuleDraft { event: string; points: string; cap: string; when: string }
const toDraft = (r: ScoringRule): RuleDraft => ({ event: r.event, points: String(r.points), cap: r.max_per_contact === undefined ? '' : String(r.max_per_contact), when: r.when === undefined ? '' : JSON.stringify(r.when) });
const num = (s: string) => (s.trim() === '' ? undefined : Number(s));

function Preview() {
  const [score, setScore] = useState<(ContactScore & { email: string }) | null>(null);
  return (
    <section className="card pad" aria-label="Score preview">
      <h2 className="section-title">A contact's breakdown</h2>
      <ContactLookup label="Contact email for the score preview" onFound={async (c) => setScore({ ...(await ok(api.GET('/v1/contacts/{id}/score', { params: { path: { id: c.id } } }))), email: c.email })} />
      {score ? (
        <table className="table" aria-label="Breakdown">
          <thead><tr><th>{score.email}</th><th>Points</th></tr></thead>
          <tbody>
            {score.breakdown.map((l) => <tr key={l.rule}><td>{l.rule === 'other' ? 'other (flows, earlier points)' : l.rule}</td><td>{l.points.toFixed(1)}</td></tr>)}
            <tr><td><b>Score</b>{score.qualified_at ? <span className="badge badge-green"> qualified {formatTime(score.qualified_at)}</span> : null}</td><td><b>{score.score.toFixed(1)}</b></td></tr>
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** The lead-scoring model: points per event (optionally only when a condition holds), caps, decay and thresholds. */
export function ScoringPage() {
  const model = useQuery({ queryKey: ['/v1/scoring'], queryFn: ({ signal }) => ok(api.GET('/v1/scoring', { signal })) });
  if (model.isPending) return <div className="page"><Spinner label="Loading the scoring model" /></div>;
  if (model.error) return <div className="page"><ErrorBox error={model.error} onRetry={() => model.refetch()} /></div>;
  return <ScoringEditor model={model.data} />;
}

function ScoringEditor({ model }: { model: ScoringModel }) {
  const admin = useCan('admin');
  const [rules, setRules] = useState<RuleDraft[]>(() => model.rules.map(toDraft));
  const [halfLife, setHalfLife] = useState<string | undefined>(model.decay?.half_life);
  const [qualified, setQualified] = useState(model.qualified_at === undefined ? '' : String(model.qualified_at));
  const [disqualified, setDisqualified] = useState(model.disqualified_at === undefined ? '' : String(model.disqualified_at));
  const [saved, setSaved] = useState(false);
  const save = useApiMutation((body: ModelBody) => ok(api.PUT('/v1/scoring', { body })), [['/v1/scoring']]);
  const [parseError, setParseError] = useState<string | null>(null);
  const submit = () => {
    setParseError(null);
    setSaved(false);
    const out: ModelBody = { rules: [] };
    for (const [i, r] of rules.entries()) {
      let when: ScoringRule['when'];
      if (r.when.trim()) {
        try {
          when = JSON.parse(r.when) as ScoringRule['when'];
        } catch {
          setParseError(`Rule ${i + 1}: the condition is not valid JSON`);
          return;
        }
      }
      out.rules.push({ event: r.event, points: Number(r.points), ...(num(r.cap) !== undefined ? { max_per_contact: num(r.cap) } : {}), ...(when !== undefined ? { when } : {}) });
    }
    if (halfLife) out.decay = { half_life: halfLife };
    if (num(qualified) !== undefined) out.qualified_at = num(qualified);
    if (num(disqualified) !== undefined) out.disqualified_at = num(disqualified);
    save.mutate(out, { onSuccess: () => setSaved(true) });
  };
  const set = (i: number, patch: Partial<RuleDraft>) => setRules(rules.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className="page">
      <PageHeader title="Lead scoring" subtitle="Points per event, scored as events arrive. A lead is sales-ready (lead.qualified) the first time it reaches the threshold." />
      <section className="card pad" aria-label="Scoring rules">
        <table className="table">
          <thead><tr><th>When this event arrives</th><th>Points</th><th>At most per contact</th><th>Only when (condition, optional)</th><th /></tr></thead>
          <tbody>
            {rules.map((r, i) => (
              <tr key={i}>
                <td><input aria-label={`Rule ${i + 1} event`} value={r.event} placeholder="page.viewed" disabled={!admin} onChange={(e) => set(i, { event: e.target.value })} /></td>
                <td><input aria-label={`Rule ${i + 1} points`} type="number" style={{ width: 80 }} value={r.points} disabled={!admin} onChange={(e) => set(i, { points: e.target.value })} /></td>
                <td><input aria-label={`Rule ${i + 1} cap`} type="number" min={1} placeholder="no cap" style={{ width: 100 }} value={r.cap} disabled={!admin} onChange={(e) => set(i, { cap: e.target.value })} /></td>
                <td><input aria-label={`Rule ${i + 1} condition`} className="mono" placeholder='{"all": [...]}' value={r.when} disabled={!admin} onChange={(e) => set(i, { when: e.target.value })} /></td>
                <td>{admin ? <button className="btn btn-sm btn-ghost" type="button" onClick={() => setRules(rules.filter((_, j) => j !== i))}>Remove</button> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {admin ? <button className="btn btn-sm" type="button" onClick={() => setRules([...rules, { event: '', points: '10', cap: '', when: '' }])}>Add rule</button> : null}
        <div className="filters" style={{ marginTop: 16 }}>
          <DurationInput label="Score halves every (decay, optional)" value={halfLife} onChange={setHalfLife} />
          <label className="field"><span>Sales-ready at (points)</span><input aria-label="Qualified at" type="number" value={qualified} disabled={!admin} onChange={(e) => setQualified(e.target.value)} /></label>
          <label className="field"><span>No longer ready below (optional)</span><input aria-label="Disqualified below" type="number" value={disqualified} disabled={!admin} onChange={(e) => setDisqualified(e.target.value)} /></label>
        </div>
        {admin ? <button className="btn btn-primary" onClick={submit} disabled={save.isPending}>Save scoring</button> : null}
        {saved && !save.error ? <span className="ok small"> Saved. New events are scored with these rules.</span> : null}
        {parseError ? <div className="error-text small" role="alert">{parseError}</div> : null}
        {save.error ? <div className="error-text small" role="alert">{errorMessage(save.error)}</div> : null}
      </section>
      <Preview />
    </div>
  );
}
