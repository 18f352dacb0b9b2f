import { useState } from 'react';
import { itemsOf, useContacts } from '../api/hooks.ts';
import { useSegments } from '../api/segments.ts';
import { navigate, useLocation } from '../router.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner, formatTime } from '../ui/common.tsx';

/** Contact search: an `@` searches by email, anything else by external id, `#tag` by tag. */
export function ContactsPage() {
  const [query, setQuery] = useState('');
  const segment = useLocation().search.get('segment');
  const q = query.trim();
  const params: Record<string, string> = {
    ...(!q ? {} : q.startsWith('#') ? { tag: q.slice(1) } : q.includes('@') ? { email: q } : { external_id: q }),
    ...(segment ? { segment } : {}),
  };
  const contacts = useContacts(params);
  const segments = itemsOf(useSegments().data);
  const list = itemsOf(contacts.data);
  return (
    <div className="page">
      <PageHeader title="Contacts" subtitle={segment ? `Members of segment ${segment}` : 'People your flows run for'} />
      <div className="filters" role="search">
        <input className="search-wide" type="search" aria-label="Search contacts" placeholder="Search by email, external id, or #tag" value={query} onChange={(e) => setQuery(e.target.value)} />
        <select aria-label="Segment" value={segment ?? ''} onChange={(e) => navigate(e.target.value ? `/contacts?segment=${encodeURIComponent(e.target.value)}` : '/contacts')}>
          <option value="">All contacts</option>
          {segments.map((s) => <option key={s.key} value={s.key}>{s.name} ({s.member_count})</option>)}
          {segment && !segments.some((s) => s.key === segment) ? <option value={segment}>{segment}</option> : null}
        </select>
      </div>
      {contacts.isPending ? <Spinner label="Searching" /> : contacts.error ? <ErrorBox error={contacts.error} onRetry={() => contacts.refetch()} /> : list.length === 0 ? (
        <EmptyState title={q ? 'No contact matches' : 'No contacts yet'}>Contacts are created by events and by the contacts API.</EmptyState>
      ) : (
        <div className="card">
          <table className="table" aria-label="Contacts">
            <thead><tr><th>Email</th><th>External id</th><th>Lifecycle</th><th className="num">Score</th><th>Tags</th><th>Updated</th></tr></thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.id} className="clickable" onClick={() => navigate(`/contacts/${c.id}`)}>
                  <td><a href={`/contacts/${c.id}`} onClick={(e) => { e.preventDefault(); navigate(`/contacts/${c.id}`); }}>{c.email ?? '—'}</a></td>
                  <td className="mono">{c.external_id ?? '—'}</td>
                  <td>{c.lifecycle_stage ?? '—'}</td>
                  <td className="num">{c.score}</td>
                  <td>{c.tags.slice(0, 4).map((t) => <span key={t} className="tag">{t}</span>)}</td>
                  <td className="muted">{formatTime(c.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
