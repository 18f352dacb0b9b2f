import { useState } from 'react';
import { api, errorMessage } from '../api/client.ts';
import { itemsOf, useApiMutation, usePlugins } from '../api/hooks.ts';
import type { Plugin } from '../api/types.ts';
import { useCan } from '../session.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner } from '../ui/common.tsx';

/** The credential fields stored for the plugin (GET /v1/plugins says which, never their values). */
function credentialFields(p: Plugin): string[] {
  return p.credentials.fields_set;
}

function versionsOf(p: Plugin): string[] {
  return p.versions.map((v) => (v.version === p.current_version ? `${v.version} (current)` : v.version));
}

/** Credentials are write-only: the form never shows stored values, only whether some are set. */
function CredentialsForm({ plugin }: { plugin: Plugin }) {
  const known = credentialFields(plugin);
  const stored = new Set(plugin.credentials?.fields_set ?? []);
  const [rows, setRows] = useState<Array<{ key: string; value: string }>>(known.length ? known.map((key) => ({ key, value: '' })) : [{ key: '', value: '' }]);
  const [saved, setSaved] = useState(false);
  const save = useApiMutation(
    (body: Record<string, string>) => api.put(`/v1/plugins/${encodeURIComponent(plugin.id)}/credentials`, body),
    [['/v1/plugins']],
  );
  const submit = async () => {
    const body = Object.fromEntries(rows.filter((r) => r.key && r.value).map((r) => [r.key, r.value]));
    await save.mutateAsync(body);
    setRows(rows.map((r) => ({ ...r, value: '' })));
    setSaved(true);
  };
  return (
    <form className="cred-form" onSubmit={(e) => { e.preventDefault(); void submit().catch(() => undefined); }} aria-label={`Credentials for ${plugin.name ?? plugin.id}`}>
      {rows.map((r, i) => (
        <div className="cred-row" key={i}>
          <input aria-label="Credential name" value={r.key} readOnly={i < known.length} placeholder="name, e.g. api_token" onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))} />
          <input aria-label={`Value for ${r.key || 'credential'}`} type="password" autoComplete="new-password" value={r.value} placeholder={stored.has(r.key) ? '•••••• stored — type to replace' : 'value'} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
        </div>
      ))}
      <div className="cred-actions">
        <button type="button" className="btn btn-sm btn-ghost" onClick={() => setRows([...rows, { key: '', value: '' }])}>Add field</button>
        <button type="submit" className="btn btn-sm btn-primary" disabled={save.isPending}>Save credentials</button>
        {saved && !save.error ? <span className="ok small">Saved. Values are encrypted and never shown again.</span> : null}
        {save.error ? <span className="error-text small">{errorMessage(save.error)}</span> : null}
      </div>
    </form>
  );
}

export function PluginsPage() {
  const plugins = usePlugins();
  const isAdmin = useCan('admin');
  const list = itemsOf(plugins.data);
  return (
    <div className="page">
      <PageHeader title="Plugins" subtitle="Integrations that add actions to the palette. They run sandboxed, pinned to a version." />
      {plugins.isPending ? <Spinner label="Loading plugins" /> : plugins.error ? <ErrorBox error={plugins.error} onRetry={() => plugins.refetch()} /> : list.length === 0 ? (
        <EmptyState title="No plugins installed">Publish one with the plugin SDK (<code>cairn plugins publish</code>); its actions then appear in the palette.</EmptyState>
      ) : (
        <div className="plugin-grid">
          {list.map((p) => (
            <section key={p.id} className="card pad plugin-card" aria-label={p.name ?? p.id}>
              <div className="plugin-head">
                <h2>{p.name ?? p.id}</h2>
                <span className={`badge badge-${p.enabled === false ? 'gray' : 'green'}`}>{p.enabled === false ? 'disabled' : 'enabled'}</span>
              </div>
              <div className="muted small mono">{p.id}</div>
              {p.description ? <p>{p.description}</p> : null}
              <div className="small"><b>Versions:</b> {versionsOf(p).join(', ') || '—'}</div>
              {p.actions?.length ? <div className="small"><b>Actions:</b> {p.actions.map((a) => a.title ?? a.key).join(', ')}</div> : null}
              {isAdmin ? (
                <>
                  <h3 className="section-title">Credentials</h3>
                  <CredentialsForm plugin={p} />
                </>
              ) : null}
            </section>
          ))}
        </div>
      )}
    </div>
  );
}
