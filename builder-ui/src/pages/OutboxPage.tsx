import { useState } from 'react';
import { itemsOf } from '../api/hooks.ts';
import { navigate } from '../router.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner, formatTime } from '../ui/common.tsx';
import type { OutboxMessage } from '../api/types.ts';
import { useOutbox } from './email-api.ts';
import { OutboxBanner } from './OutboxBanner.tsx';

function MessageView({ m }: { m: OutboxMessage }) {
  const [view, setView] = useState<'html' | 'text'>(m.html ? 'html' : 'text');
  return (
    <section className="card pad" aria-label={`Message ${m.subject}`}>
      <h2 style={{ marginTop: 0 }}>{m.subject}</h2>
      <div className="small"><b>To:</b> {m.to} · <b>From:</b> {m.from} · <b>Category:</b> {m.category}</div>
      <div className="small muted">
        Sent {formatTime(m.sent_at)} by step <code>{m.node_id}</code> of{' '}
        <a href={`/runs/${m.run_id}`} onClick={(e) => { e.preventDefault(); navigate(`/runs/${m.run_id}`); }}>this run</a>
      </div>
      <div className="seg" role="tablist" aria-label="Message view" style={{ marginTop: 12, maxWidth: 240 }}>
        <button role="tab" aria-selected={view === 'html'} className={view === 'html' ? 'on' : ''} disabled={!m.html} onClick={() => setView('html')}>HTML</button>
        <button role="tab" aria-selected={view === 'text'} className={view === 'text' ? 'on' : ''} disabled={!m.text} onClick={() => setView('text')}>Plain text</button>
      </div>
      {view === 'html' && m.html ? (
        // A sandboxed frame: the message's HTML can neither run scripts nor reach the builder.
        <iframe title="Message HTML" sandbox="" srcDoc={m.html} style={{ width: '100%', minHeight: 320, border: '1px solid #dee2e6', borderRadius: 6 }} />
      ) : (
        <pre className="json" aria-label="Message text" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{m.text}</pre>
      )}
    </section>
  );
}

/** The development outbox: a mail catcher for messages kept while no SMTP server is configured. */
export function OutboxPage() {
  const outbox = useOutbox();
  const [selected, setSelected] = useState<string | null>(null);
  const list = itemsOf(outbox.data);
  const current = list.find((m) => m.id === selected) ?? list[0];
  return (
    <div className="page">
      <PageHeader title="Outbox" subtitle="Emails kept instead of sent while no SMTP server is configured" />
      <OutboxBanner />
      {outbox.isPending ? <Spinner label="Loading the outbox" /> : outbox.error ? <ErrorBox error={outbox.error} onRetry={() => outbox.refetch()} /> : list.length === 0 ? (
        <EmptyState title="The outbox is empty">Emails your flows send appear here while no SMTP server is set up.</EmptyState>
      ) : (
        <div style={{ display: 'grid', gap: 16 }}>
          <div className="card">
            <table className="table" aria-label="Outbox messages">
              <thead><tr><th>To</th><th>Subject</th><th>Sent</th></tr></thead>
              <tbody>
                {list.map((m) => (
                  <tr key={m.id} className="clickable" onClick={() => setSelected(m.id)}>
                    <td>{m.to}</td>
                    <td><button className="btn btn-ghost btn-sm" aria-pressed={m.id === current?.id} onClick={() => setSelected(m.id)}>{m.subject}</button></td>
                    <td className="small muted">{formatTime(m.sent_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {current ? <MessageView key={current.id} m={current} /> : null}
        </div>
      )}
    </div>
  );
}
