import { useQuery } from '@tanstack/react-query';
import { api, ok } from '../api/client.ts';

const FACTOR_LABELS: Record<string, string> = {
  recency: 'Time since last purchase vs. their usual interval',
  frequency_trend: 'Fewer purchases than the 90 days before',
  engagement_decline: 'Less engagement than the month before',
  nps_detractor: 'NPS detractor (6 or less)',
  open_support_issues: 'Open support issues',
};

/** The contact's segments, RFM group and churn risk with each factor's points (docs/segments.md). */
export function ContactSegments({ contactId }: { contactId: string }) {
  const q = useQuery({ queryKey: ['/v1/contacts', contactId, 'segments'], queryFn: ({ signal }) => ok(api.GET('/v1/contacts/{id}/segments', { params: { path: { id: contactId } }, signal })) });
  if (!q.data) return null;
  const { segments, rfm, churn_risk: churn } = q.data;
  return (
    <>
      <h3 className="section-title">Segments</h3>
      <p>{segments.length ? segments.map((s) => <span key={s.key} className="tag" title={`since ${s.entered_at}`}>{s.name}</span>) : '—'}</p>
      <h3 className="section-title">RFM</h3>
      <p>{rfm ? `${rfm.group.replace(/_/g, ' ')}${rfm.r !== null ? ` (R${rfm.r} F${rfm.f} M${rfm.m})` : ''}` : 'not scored'}</p>
      <h3 className="section-title">Churn risk</h3>
      {churn ? (
        <dl className="props" aria-label="Churn risk factors">
          <dt>Score</dt><dd>{churn.score} / 100</dd>
          {churn.factors.map((f) => <div key={f.factor} className="prop-row"><dt>{FACTOR_LABELS[f.factor] ?? f.factor}</dt><dd>{f.points} of {f.max}</dd></div>)}
        </dl>
      ) : <p>not scored</p>}
    </>
  );
}
