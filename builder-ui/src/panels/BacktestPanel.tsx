import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, ok } from '../api/client.ts';
import { useContact } from '../api/hooks.ts';
import { useBacktest, useBacktestComparison, useBacktests } from '../api/backtests.ts';
import type { Backtest, BacktestNode, Flow } from '../api/types.ts';
import { useCatalogMap } from '../canvas/catalog.ts';
import { useEditor } from '../canvas/store.ts';
import { navigate } from '../router.ts';
import { ErrorBox } from '../ui/common.tsx';
import { Icon } from '../ui/icons.tsx';

const DAY = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const COUNTS: Array<[Exclude<keyof BacktestNode, 'branches' | 'samples'>, string]> = [
  ['entered', 'entered'], ['completed', 'completed'], ['waiting', 'still waiting'], ['waited', 'waited'], ['timed_out', 'timed out'],
  ['converted', 'converted'], ['exited', 'exited'], ['failed', 'failed'],
];

function describe(b: Backtest): string {
  return `${b.version === 'draft' ? 'Draft' : `v${b.version}`} · ${b.from.slice(0, 10)} → ${b.to.slice(0, 10)} · ${b.status}`;
}

/** A sample contact by email (or external id), not by id. */
function SampleContact({ id }: { id: string }) {
  const c = useContact(id).data;
  return <a href={`/contacts/${id}`} onClick={(e) => { e.preventDefault(); navigate(`/contacts/${id}`); }}>{c ? (c.email ?? c.external_id ?? 'contact') : 'contact'}</a>;
}

/** Node labels as the canvas shows them (label, else the catalog title), for the tables. */
function useNodeNames(): (id: string) => string {
  const catalog = useCatalogMap();
  const nodes = useEditor((s) => s.nodes);
  return (id) => {
    const n = nodes.find((x) => x.id === id);
    return n ? (n.data.doc.label || catalog.get(n.data.doc.type)?.title || n.data.doc.type) : id;
  };
}

/** Side by side: two backtests of this flow (e.g. the published version and the changed draft over the same period). */
function Compare({ flowId, list }: { flowId: string; list: Backtest[] }) {
  const [a, setA] = useState<string>(list[1]?.id ?? '');
  const [b, setB] = useState<string>(list[0]?.id ?? '');
  const cmp = useBacktestComparison(flowId, a || null, b || null);
  const name = useNodeNames();
  const pick = (value: string, set: (v: string) => void, label: string) => (
    <label className="field"><span>{label}</span>
      <select aria-label={label} value={value} onChange={(e) => set(e.target.value)}>
        <option value="">Choose a backtest…</option>
        {list.map((x) => <option key={x.id} value={x.id}>{describe(x)} · {x.id.slice(-6)}</option>)}
      </select>
    </label>
  );
  const c = cmp.data;
  return (
    <section aria-label="Compare backtests">
      <h3 className="section-title">Compare</h3>
      {pick(a, setA, 'Backtest A')}
      {pick(b, setB, 'Backtest B')}
      {cmp.error ? <ErrorBox error={cmp.error} /> : null}
      {c ? (
        <>
          {!c.same_period ? <p className="small text-danger">The two cover different periods: compare with care.</p> : null}
          <table className="table small" aria-label="Backtests side by side">
            <thead><tr><th>Node</th><th className="num">A entered</th><th className="num">B entered</th><th className="num">B − A</th></tr></thead>
            <tbody>
              {Object.entries(c.diff.nodes).map(([id, d]) => (
                <tr key={id}>
                  <td>{name(id)}{d.only_in ? <span className="muted small"> (only in {d.only_in.toUpperCase()})</span> : null}</td>
                  <td className="num">{c.a.nodes[id]?.entered ?? 0}</td>
                  <td className="num">{c.b.nodes[id]?.entered ?? 0}</td>
                  <td className="num">{d.entered! > 0 ? `+${d.entered}` : d.entered}</td>
                </tr>
              ))}
              <tr>
                <td>Conversion</td>
                <td className="num">{c.a.conversion?.rate != null ? `${(c.a.conversion.rate * 100).toFixed(1)}%` : '—'}</td>
                <td className="num">{c.b.conversion?.rate != null ? `${(c.b.conversion.rate * 100).toFixed(1)}%` : '—'}</td>
                <td className="num">{c.diff.conversion_rate === null ? '—' : `${(c.diff.conversion_rate * 100).toFixed(1)} pts`}</td>
              </tr>
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

/**
 * Backtest in the editor (issue 14): replay a period of recorded events against the draft or a published version,
 * watch its progress, and see its per-node counts drawn on the canvas as live counts are; the selected node's counts,
 * branches and sample contacts (with why they went that way) are listed here. Nothing is sent or changed.
 */
export function BacktestPanel({ flow, beforeRun }: { flow: Flow; beforeRun: () => Promise<void> }) {
  const qc = useQueryClient();
  const [version, setVersion] = useState<string>('draft');
  const [from, setFrom] = useState(() => isoDay(Date.now() - 30 * DAY));
  const [to, setTo] = useState(() => isoDay(Date.now() + DAY));
  const [shown, setShown] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const list = useBacktests(flow.id);
  const current = useBacktest(flow.id, shown ?? list.data?.items[0]?.id ?? null);
  const bt = current.data;
  const selected = useEditor((s) => s.nodes.find((n) => n.selected)?.id ?? null);
  const name = useNodeNames();
  const catalog = useCatalogMap();
  const versions = [...(flow.versions ?? [])].map((v) => v.version).sort((x, y) => y - x);

  // The counts go onto the canvas, the same cards and edge widths as live counts.
  useEffect(() => {
    if (!bt) return;
    useEditor.getState().setStats(Object.fromEntries(Object.entries(bt.nodes).map(([id, n]) => [id, { entered: n.entered, completed: n.completed, failed: n.failed, waiting: n.waiting }])));
  }, [bt]);
  useEffect(() => () => useEditor.getState().setStats(null), []);

  const run = async () => {
    setError(null);
    setStarting(true);
    try {
      if (version === 'draft') await beforeRun();
      const res = await ok(api.POST('/v1/flows/{id}/backtest', {
        params: { path: { id: flow.id } },
        body: { from: new Date(`${from}T00:00:00Z`).toISOString(), to: new Date(`${to}T00:00:00Z`).toISOString(), version: version === 'draft' ? 'draft' : Number(version) },
      }));
      setShown(res.id);
      await qc.invalidateQueries({ queryKey: ['/v1/flows', flow.id, 'backtests'], exact: true });
    } catch (err) {
      setError(err);
    } finally {
      setStarting(false);
    }
  };
  const cancel = async () => {
    if (!bt) return;
    try { await ok(api.POST('/v1/flows/{id}/backtests/{bid}/cancel', { params: { path: { id: flow.id, bid: bt.id } } })); } catch (err) { setError(err); }
    await qc.invalidateQueries({ queryKey: ['/v1/flows', flow.id, 'backtests'] });
  };
  useEffect(() => {
    if (bt && bt.status !== 'running') void qc.invalidateQueries({ queryKey: ['/v1/flows', flow.id, 'backtests'], exact: true });
  }, [bt?.status, bt, flow.id, qc]);

  const node = selected && bt ? bt.nodes[selected] : undefined;
  const items = list.data?.items ?? [];
  return (
    <aside className="inspector" aria-label="Backtest">
      <div className="inspector-head"><span className="fnode-icon"><Icon name="runs" /></span><div><h2>Backtest</h2><div className="muted small">Replays recorded events: nothing is sent or changed.</div></div></div>
      <div className="inspector-body">
        <label className="field"><span>Replay</span>
          <select aria-label="Replay" value={version} onChange={(e) => setVersion(e.target.value)}>
            <option value="draft">The draft</option>
            {versions.map((v) => <option key={v} value={String(v)}>Version {v}</option>)}
          </select>
        </label>
        <label className="field"><span>From</span><input type="date" aria-label="From" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
        <label className="field"><span>To (not included)</span><input type="date" aria-label="To" value={to} onChange={(e) => setTo(e.target.value)} /></label>
        <button className="btn btn-primary" onClick={() => void run()} disabled={starting || bt?.status === 'running'}><Icon name="runs" /> Run backtest</button>
        {error ? <ErrorBox error={error} /> : null}
        {bt ? (
          <section aria-label="Backtest result" className="bt-result">
            <h3 className="section-title">{describe(bt)}</h3>
            <div className="bt-progress">
              <progress aria-label="Backtest progress" max={1} value={bt.progress} />
              <span className="small" role="status">
                {bt.status === 'running' ? `${Math.round(bt.progress * 100)}% · ${bt.processed_events} of ${bt.total_events ?? '…'} events` : `${bt.status}: ${bt.processed_events} events replayed`}
              </span>
              {bt.status === 'running' ? <button className="btn btn-sm" onClick={() => void cancel()}>Cancel</button> : null}
            </div>
            {bt.runs ? (
              <dl className="props" aria-label="Backtest totals">
                <dt>Runs started</dt><dd>{bt.runs.started}</dd>
                <dt>Converted</dt><dd>{bt.runs.converted}</dd>
                <dt>Completed</dt><dd>{bt.runs.completed}</dd>
                <dt>Still open at the end</dt><dd>{bt.runs.active}</dd>
                <dt>Exited</dt><dd>{bt.runs.exited}</dd>
                <dt>Conversion</dt><dd>{!bt.conversion?.goal ? 'No goal' : bt.conversion.rate === null ? '—' : `${(bt.conversion.rate * 100).toFixed(1)}%`}</dd>
              </dl>
            ) : null}
            {Object.keys(bt.actions).length ? (
              <>
                <h4 className="small">Would have performed</h4>
                <ul className="small" aria-label="Actions counted">{Object.entries(bt.actions).map(([t, n]) => <li key={t}>{catalog.get(t)?.title ?? t}: <b>{n}</b></li>)}</ul>
              </>
            ) : null}
            <h3 className="section-title">{selected ? name(selected) : 'Select a node'}</h3>
            {!selected ? <p className="muted small">Select a node on the canvas to see its counts and sample contacts.</p> : !node ? <p className="muted small">No contact reached this node.</p> : (
              <div aria-label="Selected node in the backtest">
                <dl className="props">{COUNTS.map(([k, label]) => <div key={k} className="prop-row"><dt>{label}</dt><dd>{node[k]}</dd></div>)}</dl>
                {Object.keys(node.branches).length ? <p className="small">Branches: {Object.entries(node.branches).map(([h, n]) => `${h} ${n}`).join(' · ')}</p> : null}
                <h4 className="small">Sample contacts</h4>
                {node.samples.length === 0 ? <p className="muted small">none kept</p> : (
                  <ul className="small" aria-label="Sample contacts">
                    {node.samples.map((s) => (
                      <li key={s.contact_id}>
                        <SampleContact id={s.contact_id} /> — {s.why}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            )}
          </section>
        ) : null}
        {items.length > 1 ? <Compare flowId={flow.id} list={items} /> : null}
        {items.length ? (
          <section aria-label="Earlier backtests">
            <h3 className="section-title">Earlier backtests</h3>
            <ul className="small">
              {items.map((x) => <li key={x.id}><button className="btn btn-ghost btn-sm" aria-pressed={bt?.id === x.id} onClick={() => setShown(x.id)}>{describe(x)}</button></li>)}
            </ul>
          </section>
        ) : null}
      </div>
    </aside>
  );
}
