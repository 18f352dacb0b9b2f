import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, ok } from '../../api/client.ts';
import { itemsOf, useApiMutation } from '../../api/hooks.ts';
import type { Owner, RequestBody, Task } from '../../api/types.ts';
import { navigate } from '../../router.ts';
import { useCan } from '../../session.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner, formatTime } from '../../ui/common.tsx';

function TaskRow({ t, owners, canEdit, now }: { t: Task; owners: Owner[]; canEdit: boolean; now: number }) {
  const patch = useApiMutation((body: RequestBody<'patchTask'>) => ok(api.PATCH('/v1/tasks/{id}', { params: { path: { id: t.id } }, body })), [['/v1/tasks'], ['/v1/owners']]);
  const overdue = t.status === 'open' && t.due_at !== null && Date.parse(t.due_at) < now;
  return (
    <tr>
      <td>
        <b>{t.title}</b>
        {t.body ? <div className="muted small">{t.body}</div> : null}
        <a className="small" href={`/contacts/${t.contact_id}`} onClick={(e) => { e.preventDefault(); navigate(`/contacts/${t.contact_id}`); }}>Open contact</a>
      </td>
      <td>{t.owner_id ? owners.find((o) => o.id === t.owner_id)?.name ?? '—' : t.assignee ?? '—'}</td>
      <td>{t.due_at ? <span className={overdue ? 'error-text' : ''}>{formatTime(t.due_at)}{overdue ? ' (overdue)' : ''}</span> : '—'}</td>
      <td><span className={`badge badge-${t.status === 'done' ? 'green' : 'blue'}`}>{t.status}</span>{t.completed_at ? <div className="muted small">{formatTime(t.completed_at)}</div> : null}</td>
      <td className="row-actions">
        {canEdit && t.status === 'open' ? (
          <>
            <select aria-label={`Reassign ${t.title}`} value="" onChange={(e) => e.target.value && patch.mutate({ owner_id: e.target.value })}>
              <option value="">Reassign to…</option>
              {owners.filter((o) => o.id !== t.owner_id).map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
            </select>{' '}
            <button className="btn btn-sm btn-primary" disabled={patch.isPending} onClick={() => patch.mutate({ status: 'done' })}>Mark done</button>
          </>
        ) : null}
        {patch.error ? <div className="error-text small">{errorMessage(patch.error)}</div> : null}
      </td>
    </tr>
  );
}

/** An owner's inbox: the tasks flows created for them, to complete (recording task.completed) or hand on. */
export function TasksPage() {
  const [owner, setOwner] = useState('');
  const [status, setStatus] = useState<'open' | 'done'>('open');
  const canEdit = useCan('edit');
  const [now] = useState(() => Date.now());
  const owners = useQuery({ queryKey: ['/v1/owners', 'all'], queryFn: ({ signal }) => ok(api.GET('/v1/owners', { params: { query: { limit: 500 } }, signal })) });
  const tasks = useQuery({
    queryKey: ['/v1/tasks', owner, status],
    queryFn: ({ signal }) => ok(api.GET('/v1/tasks', { params: { query: { owner_id: owner || undefined, status, limit: 200 } }, signal })),
  });
  const list = itemsOf(tasks.data);
  return (
    <div className="page">
      <PageHeader title="Tasks" subtitle="Created by “Create task” steps. Marking one done releases the owner's capacity for that lead." />
      <div className="filters">
        <label className="field-inline">Owner
          <select aria-label="Owner" value={owner} onChange={(e) => setOwner(e.target.value)}>
            <option value="">everyone</option>
            {itemsOf(owners.data).map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
          </select>
        </label>
        <label className="field-inline">Show
          <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value as 'open' | 'done')}>
            <option value="open">open</option>
            <option value="done">done</option>
          </select>
        </label>
      </div>
      {tasks.isPending ? <Spinner label="Loading tasks" /> : tasks.error ? <ErrorBox error={tasks.error} onRetry={() => tasks.refetch()} /> : list.length === 0 ? (
        <EmptyState title={status === 'open' ? 'Inbox zero' : 'Nothing done yet'}>No {status} tasks{owner ? ' for this owner' : ''}.</EmptyState>
      ) : (
        <section className="card">
          <table className="table" aria-label="Tasks">
            <thead><tr><th>Task</th><th>Owner</th><th>Due</th><th>Status</th><th /></tr></thead>
            <tbody>{list.map((t) => <TaskRow key={t.id} t={t} owners={itemsOf(owners.data)} canEdit={canEdit} now={now} />)}</tbody>
          </table>
        </section>
      )}
    </div>
  );
}
