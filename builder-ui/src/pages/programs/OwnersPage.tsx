import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, ok } from '../../api/client.ts';
import { itemsOf, useApiMutation } from '../../api/hooks.ts';
import type { Owner, RequestBody } from '../../api/types.ts';
import { useCan } from '../../session.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner } from '../../ui/common.tsx';

const useOwnerList = () => useQuery({ queryKey: ['/v1/owners', 'all'], queryFn: ({ signal }) => ok(api.GET('/v1/owners', { params: { query: { limit: 500 } }, signal })) });
const usePools = () => useQuery({ queryKey: ['/v1/routing-pools'], queryFn: ({ signal }) => ok(api.GET('/v1/routing-pools', { signal })) });

function OwnerRowView({ o, admin }: { o: Owner; admin: boolean }) {
  const save = useApiMutation((body: RequestBody<'patchOwner'>) => ok(api.PATCH('/v1/owners/{id}', { params: { path: { id: o.id } }, body })), [['/v1/owners']]);
  const [capacity, setCapacity] = useState(o.capacity === null ? '' : String(o.capacity));
  const [weight, setWeight] = useState(String(o.weight));
  // Shown at once; the row is remounted with the server's value once the owners list reloads.
  const [available, setAvailable] = useState(o.available);
  const full = o.capacity !== null && o.assigned_count >= o.capacity;
  return (
    <tr>
      <td><b>{o.name}</b><div className="muted small">{o.email}</div></td>
      <td>
        <label className="field-inline">
          <input type="checkbox" aria-label={`${o.name} available`} checked={available} disabled={!admin || save.isPending}
            onChange={(e) => { setAvailable(e.target.checked); save.mutate({ available: e.target.checked }, { onError: () => setAvailable(o.available) }); }} />
          {available ? 'Available' : 'Away'}
        </label>
      </td>
      <td>
        <input aria-label={`${o.name} weight`} type="number" min={0} max={100} style={{ width: 70 }} value={weight} disabled={!admin} onChange={(e) => setWeight(e.target.value)}
          onBlur={() => Number(weight) !== o.weight && save.mutate({ weight: Number(weight) })} />
      </td>
      <td>
        <input aria-label={`${o.name} capacity`} type="number" min={0} placeholder="no limit" style={{ width: 90 }} value={capacity} disabled={!admin} onChange={(e) => setCapacity(e.target.value)}
          onBlur={() => { const next = capacity === '' ? null : Number(capacity); if (next !== o.capacity) save.mutate({ capacity: next }); }} />
      </td>
      <td>
        <span className={`badge badge-${full ? 'amber' : 'gray'}`} title="Open assigned leads (released when their task is done or the lead is reassigned)">
          {o.assigned_count}{o.capacity !== null ? ` of ${o.capacity}` : ''} open
        </span>
      </td>
      <td className="muted small">{o.territories.join(', ') || '—'}{save.error ? <div className="error-text">{errorMessage(save.error)}</div> : null}</td>
    </tr>
  );
}

function NewOwner() {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const create = useApiMutation((body: RequestBody<'createOwner'>) => ok(api.POST('/v1/owners', { body })), [['/v1/owners']]);
  return (
    <form className="filters" aria-label="New owner" onSubmit={(e) => { e.preventDefault(); create.mutate({ name, email }, { onSuccess: () => { setName(''); setEmail(''); } }); }}>
      <input aria-label="Owner name" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
      <input aria-label="Owner email" type="email" placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} />
      <button className="btn btn-sm btn-primary" disabled={!name || !email || create.isPending}>Add owner</button>
      {create.error ? <span className="error-text small">{errorMessage(create.error)}</span> : null}
    </form>
  );
}

function NewPool({ owners }: { owners: Owner[] }) {
  const [key, setKey] = useState('');
  const [members, setMembers] = useState<string[]>([]);
  const [fallback, setFallback] = useState('');
  const create = useApiMutation((body: RequestBody<'createRoutingPool'>) => ok(api.POST('/v1/routing-pools', { body })), [['/v1/routing-pools']]);
  return (
    <form aria-label="New routing pool" onSubmit={(e) => { e.preventDefault(); create.mutate({ key, owner_ids: members, ...(fallback ? { fallback_owner_id: fallback } : {}) }, { onSuccess: () => { setKey(''); setMembers([]); setFallback(''); } }); }}>
      <div className="filters">
        <input aria-label="Pool key" placeholder="pool key, e.g. enterprise" value={key} onChange={(e) => setKey(e.target.value)} />
        <select aria-label="Fallback owner" value={fallback} onChange={(e) => setFallback(e.target.value)}>
          <option value="">no fallback owner</option>
          {owners.map((o) => <option key={o.id} value={o.id}>fallback: {o.name}</option>)}
        </select>
        <button className="btn btn-sm btn-primary" disabled={!key || members.length === 0 || create.isPending}>Create pool</button>
      </div>
      <div className="filters">
        {owners.map((o) => (
          <label key={o.id} className="field-inline">
            <input type="checkbox" checked={members.includes(o.id)} onChange={(e) => setMembers(e.target.checked ? [...members, o.id] : members.filter((m) => m !== o.id))} /> {o.name}
          </label>
        ))}
      </div>
      {create.error ? <div className="error-text small">{errorMessage(create.error)}</div> : null}
    </form>
  );
}

/** Owners (availability, weight, capacity and current load) and the routing pools that assign from them. */
export function OwnersPage() {
  const owners = useOwnerList();
  const pools = usePools();
  const admin = useCan('admin');
  const list = itemsOf(owners.data);
  const name = (id: string) => list.find((o) => o.id === id)?.name ?? id.slice(0, 8);
  return (
    <div className="page">
      <PageHeader title="Owners & routing" subtitle="Who leads are routed to. Capacity counts open leads; a lead is released when its task is done or it is reassigned." />
      {owners.isPending ? <Spinner label="Loading owners" /> : owners.error ? <ErrorBox error={owners.error} onRetry={() => owners.refetch()} /> : (
        <section className="card" aria-label="Owners">
          {list.length === 0 ? <EmptyState title="No owners yet">Add the people leads should go to.</EmptyState> : (
            <table className="table">
              <thead><tr><th>Owner</th><th>Availability</th><th>Weight</th><th>Capacity</th><th>Current load</th><th>Territories</th></tr></thead>
              <tbody>{list.map((o) => <OwnerRowView key={`${o.id}:${o.capacity}:${o.weight}:${o.available}`} o={o} admin={admin} />)}</tbody>
            </table>
          )}
          {admin ? <div className="pad"><NewOwner /></div> : null}
        </section>
      )}
      <h2 className="section-title">Routing pools</h2>
      <section className="card pad" aria-label="Routing pools">
        {pools.error ? <ErrorBox error={pools.error} /> : itemsOf(pools.data).length === 0 ? <p className="muted">No routing pools yet.</p> : (
          <table className="table">
            <thead><tr><th>Pool</th><th>Owners (in rotation order)</th><th>Fallback</th></tr></thead>
            <tbody>
              {itemsOf(pools.data).map((p) => (
                <tr key={p.id}><td className="mono">{p.key}</td><td>{p.owner_ids.map(name).join(' → ')}</td><td>{p.fallback_owner_id ? name(p.fallback_owner_id) : '—'}</td></tr>
              ))}
            </tbody>
          </table>
        )}
        {admin ? <NewPool owners={list} /> : null}
      </section>
    </div>
  );
}
