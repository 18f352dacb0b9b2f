import {
  BarController, BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip,
  type ChartData, type ChartOptions, type ScriptableContext,
} from 'chart.js';
import { MatrixController, MatrixElement, type MatrixDataPoint } from 'chartjs-chart-matrix';
import { Chart } from 'react-chartjs-2';
import type { Kpis } from '../../api/types.ts';

// Only the parts the dashboard draws: chart.js is tree-shaken to these, and the whole lot loads with this page only.
ChartJS.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip, Legend, MatrixController, MatrixElement);
ChartJS.defaults.font.family = "Inter, 'Segoe UI', system-ui, sans-serif";
ChartJS.defaults.color = '#555e6a';
// The page's tests wait for drawn charts: no animation keeps what is shown the final picture at once.
ChartJS.defaults.animation = false;

const BLUE = '#3b5bdb';
const GREEN = '#2f9e44';
const RED = '#e03131';
const GREY = '#adb5bd';
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** Summary given to the canvas's accessible name: charts are images to assistive tech, with the table next to them. */
interface ChartProps { label: string }

export function ConversionChart({ kpis, label }: { kpis: Kpis } & ChartProps) {
  const flows = kpis.flows.filter((f) => f.has_goal && f.conversion_rate !== null);
  const data: ChartData<'bar'> = {
    labels: flows.map((f) => f.name),
    datasets: [
      { label: 'Conversion', data: flows.map((f) => f.conversion_rate!), backgroundColor: BLUE },
      { label: 'Holdout', data: flows.map((f) => f.holdout?.conversion_rate ?? null) as number[], backgroundColor: GREY },
    ],
  };
  const options: ChartOptions<'bar'> = {
    indexAxis: 'y', maintainAspectRatio: false,
    scales: { x: { min: 0, ticks: { callback: (v) => pct(Number(v)) } } },
    plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${pct(c.parsed.x ?? 0)}` } } },
  };
  return <Chart type="bar" data={data} options={options} role="img" aria-label={label} />;
}

/** Lift over the holdout: the 95% interval as a floating bar, the measured lift as a point on it. */
export function LiftChart({ kpis, label }: { kpis: Kpis } & ChartProps) {
  const flows = kpis.flows.filter((f) => f.lift);
  const data: ChartData<'bar' | 'scatter', Array<number | [number, number] | { x: number; y: string }>> = {
    labels: flows.map((f) => f.name),
    datasets: [
      { type: 'bar', label: '95% interval', data: flows.map((f) => [f.lift!.ci_low, f.lift!.ci_high] as [number, number]), backgroundColor: 'rgba(59, 91, 219, 0.25)', borderColor: BLUE, borderWidth: 1 },
      { type: 'scatter', label: 'Lift', data: flows.map((f) => ({ x: f.lift!.absolute, y: f.name })), backgroundColor: BLUE, pointRadius: 5 },
    ],
  };
  const options: ChartOptions<'bar'> = {
    indexAxis: 'y', maintainAspectRatio: false,
    scales: { x: { ticks: { callback: (v) => `${Number(v) > 0 ? '+' : ''}${(Number(v) * 100).toFixed(0)} pts` } }, y: { type: 'category' } },
  };
  return <Chart type="bar" data={data as ChartData<'bar'>} options={options} role="img" aria-label={label} />;
}

export function NpsChart({ kpis, label }: { kpis: Kpis } & ChartProps) {
  const data: ChartData<'bar'> = {
    labels: kpis.nps_distribution.map((_, i) => String(i)),
    datasets: [{ label: 'Responses', data: kpis.nps_distribution, backgroundColor: kpis.nps_distribution.map((_, i) => (i <= 6 ? RED : i <= 8 ? GREY : GREEN)) }],
  };
  const options: ChartOptions<'bar'> = { maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { title: { display: true, text: 'score' } } } };
  return <Chart type="bar" data={data} options={options} role="img" aria-label={label} />;
}

export function SeriesChart({ kpis, label }: { kpis: Kpis } & ChartProps) {
  const data: ChartData<'bar' | 'line'> = {
    labels: kpis.series.map((s) => s.start.slice(0, 10)),
    datasets: [
      { type: 'bar', label: 'Revenue', data: kpis.series.map((s) => s.revenue), backgroundColor: 'rgba(59, 91, 219, 0.5)', yAxisID: 'revenue' },
      { type: 'line', label: 'Orders', data: kpis.series.map((s) => s.orders), borderColor: GREEN, backgroundColor: GREEN, yAxisID: 'orders' },
    ],
  };
  const options: ChartOptions<'bar' | 'line'> = {
    maintainAspectRatio: false,
    scales: { revenue: { type: 'linear', position: 'left', min: 0 }, orders: { type: 'linear', position: 'right', min: 0, grid: { drawOnChartArea: false } } },
  };
  return <Chart type="bar" data={data as ChartData<'bar'>} options={options as ChartOptions<'bar'>} role="img" aria-label={label} />;
}

/** Contacts created in the period that reached each lifecycle stage (or a later one), and those at it now. */
export function FunnelChart({ kpis, label }: { kpis: Kpis } & ChartProps) {
  const steps = kpis.funnel?.stages ?? [];
  const data: ChartData<'bar'> = {
    labels: steps.map((s) => s.stage.replace(/_/g, ' ')),
    datasets: [
      { label: 'Reached', data: steps.map((s) => s.reached), backgroundColor: BLUE },
      { label: 'At this stage now', data: steps.map((s) => s.current), backgroundColor: GREY },
    ],
  };
  const options: ChartOptions<'bar'> = { indexAxis: 'y', maintainAspectRatio: false };
  return <Chart type="bar" data={data} options={options} role="img" aria-label={label} />;
}

export function ClvChart({ kpis, label }: { kpis: Kpis } & ChartProps) {
  const rows = (kpis.clv_by_segment ?? []).filter((s) => s.clv_avg !== null);
  const data: ChartData<'bar'> = { labels: rows.map((s) => s.name), datasets: [{ label: 'Average CLV', data: rows.map((s) => s.clv_avg!), backgroundColor: GREEN }] };
  const options: ChartOptions<'bar'> = { indexAxis: 'y', maintainAspectRatio: false, plugins: { legend: { display: false } } };
  return <Chart type="bar" data={data} options={options} role="img" aria-label={label} />;
}

type Cell = MatrixDataPoint & { v: number };

/** Monthly cohort retention as a heat map: a row per cohort, a column per month after the first order. */
export function CohortChart({ kpis, label }: { kpis: Kpis } & ChartProps) {
  const months = Math.max(1, ...kpis.cohorts.map((c) => c.retained.length));
  const columns = Array.from({ length: months }, (_, i) => `M${i}`);
  const rows = kpis.cohorts.map((c) => c.cohort);
  const cells: Cell[] = kpis.cohorts.flatMap((c) => c.retained.map((v, i) => ({ x: i, y: rows.indexOf(c.cohort), v })));
  const data: ChartData<'matrix', Cell[]> = {
    datasets: [{
      label: 'Retained',
      data: cells,
      backgroundColor: (ctx: ScriptableContext<'matrix'>) => `rgba(59, 91, 219, ${0.08 + 0.92 * ((ctx.raw as Cell | undefined)?.v ?? 0)})`,
      borderColor: '#fff',
      borderWidth: 1,
      width: ({ chart }) => (chart.chartArea?.width ?? 0) / months - 1,
      height: ({ chart }) => (chart.chartArea?.height ?? 0) / Math.max(1, rows.length) - 1,
    }],
  };
  const options: ChartOptions<'matrix'> = {
    maintainAspectRatio: false,
    plugins: { legend: { display: false }, tooltip: { callbacks: { title: () => '', label: (c) => { const r = c.raw as Cell; return `${rows[Number(r.y)]} · ${columns[Number(r.x)]}: ${pct(r.v)}`; } } } },
    scales: {
      x: { type: 'linear', min: -0.5, max: months - 0.5, offset: false, ticks: { stepSize: 1, callback: (v) => columns[Number(v)] ?? '' }, grid: { display: false } },
      y: { type: 'linear', min: -0.5, max: rows.length - 0.5, reverse: true, offset: false, ticks: { stepSize: 1, callback: (v) => rows[Number(v)] ?? '' }, grid: { display: false } },
    },
  };
  return <Chart type="matrix" data={data} options={options} role="img" aria-label={label} />;
}
