import { useState } from 'react';
import { api, errorMessage, ok } from '../api/client.ts';
import { itemsOf, useApiMutation, usePlugins } from '../api/hooks.ts';
import type { Plugin } from '../api/types.ts';
import { useCan } from '../session.ts';
import { EmptyState, ErrorBox, PageHeader, Spinner } from '../ui/common.tsx';
import { Help } from '../ui/Help.tsx';
import { PluginConnection } from './PluginConnection.tsx';

interface CredentialField {
  key: string;
  title: string;
  description?: string;
  required: boolean;
}

/** The fields of the plugin's declared `auth` schema (its manifest), in the schema's order; null if it takes none. */
function credentialFields(p: Plugin): CredentialField[] | null {
  const schema = p.credentials.schema;
  const props = schema?.properties as Record<string, { title?: unknown; description?: unknown }> | undefined;
  if (!schema || !props) return null;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([key, s]) => ({
    key,
    title: typeof s.title === 'string' ? s.title : key,
    description: typeof s.description === 'string' ? s.description : undefined,
    required: required.has(key),
  }));
}

function versionsOf(p: Plugin): string[] {
  return p.versions.map((v) => (v.version === p.current_version ? `${v.version} (current)` : v.version));
}

/**
 * The credentials form, generated from the plugin's `auth` schema. Write-only: inputs start empty, stored values
 * are never fetched (the API has none to give) and a stored field only says so. A save replaces the whole stored
 * set (`PUT`), so every required field is typed again; the engine checks the set against the schema.
 */
function CredentialsForm({ plugin, fields }: { plugin: Plugin; fields: CredentialField[] }) {
  const stored = new Set(plugin.credentials.fields_set);
  const [values, setValues] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const save = useApiMutation(
    (body: Record<string, string>) => ok(api.PUT('/v1/plugins/{id}/credentials', { params: { path: { id: plugin.id } }, body })),
    [['/v1/plugins']],
  );
  const submit = async () => {
    setSaved(false);
    await save.mutateAsync(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '')));
    setValues({});
    setSaved(true);
  };
  const name = plugin.name ?? plugin.id;
  return (
    <form className="cred-form" onSubmit={(e) => { e.preventDefault(); void submit().catch(() => undefined); }} aria-label={`Credentials for ${name}`}>
      {fields.map((f) => (
        <label className="cred-field" key={f.key}>
          <span className="cred-label">{f.title}{f.required ? <span aria-hidden="true"> *</span> : null}</span>
          <input
            aria-label={f.title}
            type="password"
            autoComplete="new-password"
            required={f.required}
            value={values[f.key] ?? ''}
            placeholder={stored.has(f.key) ? '•••••• stored — type to replace' : 'not set'}
            onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
          />
          {f.description ? <span className="muted small"><Help text={f.description} /></span> : null}
        </label>
      ))}
      {stored.size ? <p className="muted small">Saving replaces the stored credentials: type every field you want kept.</p> : null}
      <div className="cred-actions">
        <button type="submit" className="btn btn-sm btn-primary" disabled={save.isPending}>Save credentials</button>
        {saved && !save.error ? <span className="ok small" role="status">Saved. Values are encrypted and never shown again.</span> : null}
        {save.error ? <span className="error-text small" role="alert">{errorMessage(save.error)}</span> : null}
      </div>
    </form>
  );
}

/** Enabled plugins' actions are in the palette and run; disabling one (per workspace) refuses publishing and running them. */
function EnableToggle({ plugin }: { plugin: Plugin }) {
  const enabled = plugin.enabled !== false;
  const toggle = useApiMutation(() => ok(api.POST(`/v1/plugins/{id}/${enabled ? 'disable' : 'enable'}`, { params: { path: { id: plugin.id } } })), [['/v1/plugins'], ['/v1/catalog']]);
  return (
    <>
      <button className="btn btn-sm" onClick={() => toggle.mutate(undefined)} disabled={toggle.isPending}>{enabled ? 'Disable' : 'Enable'}</button>
      {toggle.error ? <span className="error-text small" role="alert">{errorMessage(toggle.error)}</span> : null}
    </>
  );
}

/** How a plugin gets here: the SDK's CLI builds it and uploads it to this engine (`POST /v1/plugins`, admin key). */
function PublishHelp() {
  return (
    <section className="card pad" aria-label="Publish a plugin">
      <h2 className="section-title">Publish a plugin</h2>
      <p className="small">In the plugin's folder (created with <code>cairn-plugin create my-plugin</code>), with an admin API key (<code>pnpm cairn keys create --workspace &lt;slug&gt; --role admin</code>):</p>
      <pre className="code-block">{`cairn-plugin build\ncairn-plugin publish --url ${window.location.origin} --key <admin API key>`}</pre>
      <p className="muted small">Versions are immutable; flows keep the version they were published with. See docs/plugins.md.</p>
    </section>
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
        <EmptyState title="No plugins installed">Publish one with the plugin SDK's <code>cairn-plugin publish</code> (below); its actions then appear in the palette.</EmptyState>
      ) : (
        <div className="plugin-grid">
          {list.map((p) => {
            const fields = credentialFields(p);
            return (
              <section key={p.id} className="card pad plugin-card" aria-label={p.name ?? p.id}>
                <div className="plugin-head">
                  <h2>{p.name ?? p.id}</h2>
                  <span className={`badge badge-${p.enabled === false ? 'gray' : 'green'}`}>{p.enabled === false ? 'disabled' : 'enabled'}</span>
                  {isAdmin ? <EnableToggle plugin={p} /> : null}
                </div>
                <div className="muted small mono">{p.id}</div>
                {p.description ? <p>{p.description}</p> : null}
                <div className="small"><b>Versions:</b> {versionsOf(p).join(', ') || '—'}</div>
                {p.actions?.length ? <div className="small"><b>Actions:</b> {p.actions.map((a) => a.title ?? a.key).join(', ')}</div> : null}
                {isAdmin ? (
                  <>
                    <h3 className="section-title">Credentials</h3>
                    {fields ? <CredentialsForm plugin={p} fields={fields} /> : <p className="muted small">This plugin takes no credentials.</p>}
                    <PluginConnection plugin={p} />
                  </>
                ) : null}
              </section>
            );
          })}
        </div>
      )}
      {isAdmin ? <PublishHelp /> : null}
    </div>
  );
}
