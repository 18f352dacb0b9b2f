import { useMemo, type ReactNode } from 'react';
import { itemsOf } from '../../api/hooks.ts';
import { useKpis, type KpiFilters } from '../../api/kpis.ts';
import type { Kpis } from '../../api/types.ts';
import { useSegments } from '../../api/segments.ts';
import { navigate, useLocation } from '../../router.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner } from '../../ui/common.tsx';
import { ClvChart, CohortChart, ConversionChart, FunnelChart, LiftChart, NpsChart, SeriesChart } from './charts.tsx';
import { download, toCsv } from './csv.ts';
import { clvTable, cohortTable, conversionTable, funnelTable, npsTable, seriesTable, tilesTable, type Table, type TileKey } from './tables.ts';
import '../pages.css';

const DAY = 86_400_000;
const PERIODS = {
  '30d': { label: 'Last 30 days', days: 30, interval: 'day' },
  '90d': { label: 'Last 90 days', days: 90, interval: 'week' },
  '365d': { label: 'Last 12 months', days: 365, interval: 'month' },
} as const;
type PeriodKey = keyof typeof PERIODS;

/** The period ends at the next UTC midnight, so today is in it and the same choice asks the same question all day. */
function filtersFor(period: PeriodKey, segment: string, shiftBack = 0): KpiFilters {
  const p = PERIODS[period];
  const end = new Date();
  end.setUTCHours(24, 0, 0, 0);
  const to = end.getTime() - shiftBack * p.days * DAY;
  return { from: new Date(to - p.days * DAY).toISOString(), to: new Date(to).toISOString(), interval: p.interval, ...(segment ? { segment } : {}) };
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const num = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 2 });
const TILES: Record<TileKey, { label: string; format: (v: number) => string; better: 'up' | 'down'; note: (k: Kpis) => string }> = {
  churn_rate: { label: 'Churn rate', format: pct, better: 'down', note: (k) => `${k.churned} of ${k.active_at_start} active customers` },
  retention_rate: { label: 'Retention', format: pct, better: 'up', note: (k) => `${k.active_at_start - k.churned} kept` },
  nps: { label: 'NPS', format: (v) => v.toFixed(1), better: 'up', note: (k) => `${k.nps_responses} responses` },
  csat: { label: 'CSAT', format: (v) => `${v.toFixed(1)}%`, better: 'up', note: (k) => `${k.csat_responses} responses` },
  clv_avg: { label: 'Average CLV', format: num, better: 'up', note: (k) => `${k.buyers} buyers` },
  cac: { label: 'CAC', format: num, better: 'down', note: (k) => `${k.new_customers} new customers` },
  revenue: { label: 'Revenue', format: num, better: 'up', note: (k) => `${k.buyers} buyers` },
  buyers: { label: 'Buyers', format: num, better: 'up', note: () => 'distinct contacts who ordered' },
  new_customers: { label: 'New customers', format: num, better: 'up', note: () => 'first order ever in the period' },
  spend: { label: 'Marketing spend', format: num, better: 'down', note: () => 'from marketing.spend events' },
};

function Trend({ now, before, tile }: { now: number | null; before: number | null | undefined; tile: (typeof TILES)[TileKey] }) {
  if (now === null || before === null || before === undefined) return <span className="kpi-note">no earlier figure</span>;
  const d = now - before;
  if (d === 0) return <span className="kpi-note">same as the previous period</span>;
  const good = (d > 0) === (tile.better === 'up');
  // Rates move in percentage points, not in percent of themselves.
  const shown = tile.format === pct ? `${(Math.abs(d) * 100).toFixed(1)} pts` : tile === TILES.csat ? `${Math.abs(d).toFixed(1)} pts` : tile.format(Math.abs(d));
  return <span className="kpi-note" style={{ color: good ? '#1e6b2e' : '#b02525' }}>{d > 0 ? '▲' : '▼'} {shown} vs previous period</span>;
}

/** A chart with its title, the CSV of its figures and the same figures as a table (what the canvas shows, for everyone). */
function ChartCard({ title, table, file, children, empty }: { title: string; table: Table; file: string; children: ReactNode; empty?: string | null }) {
  return (
    <section className="card chart-card" aria-label={title}>
      <header>
        <h2>{title}</h2>
        <button className="btn btn-sm" aria-label={`Download CSV: ${title}`} onClick={() => download(file, toCsv(table.header, table.rows))}>CSV</button>
      </header>
      {empty ? <p className="muted">{empty}</p> : <div className="chart-box">{children}</div>}
      <details>
        <summary>Show the figures</summary>
        <table className="table">
          <thead><tr>{table.header.map((h) => <th key={h}>{h}</th>)}</tr></thead>
          <tbody>{table.rows.map((r, i) => <tr key={i}>{r.map((c, j) => <td key={j}>{c === null || c === undefined ? '' : String(c)}</td>)}</tr>)}</tbody>
        </table>
      </details>
    </section>
  );
}

function liftText(f: Kpis['flows'][number]): string {
  if (!f.lift) return '—';
  const pts = (v: number) => `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)}`;
  return `${pts(f.lift.absolute)} pts (95%: ${pts(f.lift.ci_low)} to ${pts(f.lift.ci_high)})`;
}

/**
 * The KPI dashboard (issue 13): headline tiles with their trend against the previous period, conversion by flow with
 * the holdout lift and its 95% interval, the lifecycle funnel, cohort retention, NPS distribution and revenue over
 * time, for a period and optionally a segment. Every figure is the API's (docs/kpis.md); each chart exports its CSV.
 */
export function DashboardPage() {
  const search = useLocation().search;
  const period = (search.get('period') as PeriodKey | null) ?? '30d';
  const segment = search.get('segment') ?? '';
  const setFilter = (k: string, v: string) => {
    const next = new URLSearchParams(search);
    if (v) next.set(k, v); else next.delete(k);
    navigate(`/dashboard${next.toString() ? `?${next}` : ''}`, true);
  };
  const filters = useMemo(() => filtersFor(PERIODS[period] ? period : '30d', segment), [period, segment]);
  const previous = useMemo(() => filtersFor(PERIODS[period] ? period : '30d', segment, 1), [period, segment]);
  const kpis = useKpis(filters);
  const before = useKpis(previous);
  const segments = itemsOf(useSegments().data);
  const k = kpis.data;
  const goalFlows = k?.flows.filter((f) => f.has_goal && f.conversion_rate !== null) ?? [];

  return (
    <div className="page">
      <PageHeader title="Dashboard" subtitle="Did the campaigns work? Every figure is defined in docs/kpis.md" />
      <div className="filters" role="search" aria-label="Dashboard filters">
        <label>Period{' '}
          <select aria-label="Period" value={period} onChange={(e) => setFilter('period', e.target.value)}>
            {Object.entries(PERIODS).map(([key, p]) => <option key={key} value={key}>{p.label}</option>)}
          </select>
        </label>
        <label>Segment{' '}
          <select aria-label="Segment" value={segment} onChange={(e) => setFilter('segment', e.target.value)}>
            <option value="">Everyone</option>
            {segments.map((s) => <option key={s.key} value={s.key}>{s.name}</option>)}
          </select>
        </label>
        {kpis.isFetching ? <Spinner label="Updating" /> : null}
      </div>
      {kpis.error ? <ErrorBox error={kpis.error} onRetry={() => kpis.refetch()} /> : !k ? <Spinner label="Computing figures" /> : (
        <>
          <section className="kpi-tiles" aria-label="Key figures">
            {tilesTable(k).rows.map(([key, value]) => {
              const tile = TILES[key as TileKey];
              return (
                <div key={String(key)} className="card kpi-tile" role="group" aria-label={tile.label} data-kpi={String(key)}>
                  <div className="kpi-label">{tile.label}</div>
                  <div className="kpi-value">{value === null || value === undefined ? '—' : tile.format(value as number)}</div>
                  {value === null || value === undefined ? <span className="kpi-note">no data in this period</span> : <Trend now={value as number} before={before.data?.[key as TileKey]} tile={tile} />}
                  <div className="kpi-note">{tile.note(k)}</div>
                </div>
              );
            })}
          </section>
          <div className="tile-csv">
            <button className="btn btn-sm" onClick={() => download('kpis-tiles.csv', toCsv(tilesTable(k).header, tilesTable(k).rows))}>Download CSV: Key figures</button>
          </div>
          <section className="card pad" aria-label="Flows">
            <h2 className="section-title">Conversion by flow</h2>
            {k.flows.length === 0 ? <EmptyState title="No flow had runs in this period" /> : (
              <table className="table" aria-label="Conversion by flow">
                <thead><tr><th>Flow</th><th className="num">Entered</th><th className="num">Converted</th><th className="num">Conversion</th><th className="num">Holdout</th><th>Lift over holdout</th></tr></thead>
                <tbody>
                  {k.flows.map((f) => (
                    <tr key={f.flow_id}>
                      <td><a href={`/flows/${f.flow_id}`} onClick={(e) => { e.preventDefault(); navigate(`/flows/${f.flow_id}`); }}>{f.name}</a></td>
                      <td className="num">{f.entered}</td>
                      <td className="num">{f.has_goal ? (f.converted ?? '—') : ''}</td>
                      <td className="num">{!f.has_goal ? <span className="muted" title="This flow has no goal: conversion means nothing">No goal</span> : f.conversion_rate === null ? '—' : pct(f.conversion_rate)}</td>
                      <td className="num">{f.holdout?.conversion_rate != null ? pct(f.holdout.conversion_rate) : '—'}</td>
                      <td>{liftText(f)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <div className="charts">
            <ChartCard title="Conversion by flow" table={conversionTable(k)} file="kpis-conversion.csv" empty={goalFlows.length ? null : 'No flow with a goal had runs in this period.'}>
              <ConversionChart kpis={k} label={`Conversion by flow: ${goalFlows.map((f) => `${f.name} ${pct(f.conversion_rate!)}`).join(', ')}`} />
            </ChartCard>
            <ChartCard title="Lift over holdout (95% interval)" table={conversionTable(k)} file="kpis-lift.csv" empty={k.flows.some((f) => f.lift) ? null : 'No flow with a holdout and a goal event had runs in this period.'}>
              <LiftChart kpis={k} label={`Lift over holdout: ${k.flows.filter((f) => f.lift).map((f) => `${f.name} ${liftText(f)}`).join(', ')}`} />
            </ChartCard>
            <ChartCard title="Lifecycle funnel" table={funnelTable(k)} file="kpis-funnel.csv"
              empty={!k.funnel ? 'Not yet: this engine does not report the lifecycle-stage funnel.' : k.funnel.stages.some((st) => st.reached > 0) ? null : `None of the ${k.funnel.contacts} contacts created in this period has a lifecycle stage.`}>
              <FunnelChart kpis={k} label={`Lifecycle funnel of the ${k.funnel?.contacts ?? 0} contacts created in the period: ${(k.funnel?.stages ?? []).map((st) => `${st.stage} reached by ${st.reached}`).join(', ')}`} />
            </ChartCard>
            <ChartCard title="CLV by segment" table={clvTable(k)} file="kpis-clv-by-segment.csv" empty={k.clv_by_segment?.some((c) => c.clv_avg !== null) ? null : 'No segment has buyers in this period.'}>
              <ClvChart kpis={k} label={`Average CLV by segment: ${(k.clv_by_segment ?? []).map((c) => `${c.name} ${c.clv_avg === null ? 'none' : num(c.clv_avg)}`).join(', ')}`} />
            </ChartCard>
            <ChartCard title="Cohort retention" table={cohortTable(k)} file="kpis-cohorts.csv" empty={k.cohorts.length ? null : 'No first orders in this period.'}>
              <CohortChart kpis={k} label={`Cohort retention by month after the first order, ${k.cohorts.length} cohorts`} />
            </ChartCard>
            <ChartCard title="NPS distribution" table={npsTable(k)} file="kpis-nps.csv" empty={k.nps_responses ? null : 'No NPS responses in this period.'}>
              <NpsChart kpis={k} label={`NPS ${k.nps === null ? 'none' : k.nps.toFixed(1)} from ${k.nps_responses} responses`} />
            </ChartCard>
            <ChartCard title="Revenue and orders" table={seriesTable(k)} file="kpis-series.csv" empty={k.series.length ? null : 'Nothing in this period.'}>
              <SeriesChart kpis={k} label={`Revenue ${num(k.revenue)} over ${k.series.length} ${k.interval}s`} />
            </ChartCard>
          </div>
        </>
      )}
    </div>
  );
}
