import { useState } from 'react';
import { api, errorMessage, ok } from '../api/client.ts';
import { itemsOf, useContacts } from '../api/hooks.ts';
import type { EmailPreview as Preview, RequestBody } from '../api/types.ts';

/**
 * The email node's preview: the node's current (unsaved) config rendered for a contact picked by email, as HTML
 * (in a sandboxed frame) or plain text, with the unsubscribe footer a real send adds.
 */
export function EmailPreview({ config }: { config: Record<string, unknown> }) {
  const [query, setQuery] = useState('');
  const contacts = useContacts(query.includes('@') ? { email: query } : {});
  const [contactId, setContactId] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [view, setView] = useState<'html' | 'text'>('html');
  const list = itemsOf(contacts.data);
  const chosen = contactId || list[0]?.id || '';

  const render = async () => {
    setError(null);
    try {
      // The canvas's config of the node (its editing model, maybe incomplete): the engine checks it and names what is wrong.
      const p = await ok(api.POST('/v1/email/preview', { body: { contact_id: chosen, config: config as RequestBody<'previewEmail'>['config'] } }));
      setPreview(p);
      setView(p.html ? 'html' : 'text');
    } catch (err) {
      setPreview(null);
      setError(err);
    }
  };

  return (
    <fieldset className="fieldset" aria-label="Email preview">
      <legend>Preview</legend>
      <label className="field"><span>Contact (search by email)</span>
        <input value={query} placeholder="ada@example.com" onChange={(e) => setQuery(e.target.value)} />
      </label>
      <label className="field"><span>Preview for</span>
        <select aria-label="Preview contact" value={chosen} onChange={(e) => setContactId(e.target.value)}>
          {list.length === 0 ? <option value="">No contacts yet</option> : null}
          {list.map((c) => <option key={c.id} value={c.id}>{c.email ?? c.external_id ?? c.id}</option>)}
        </select>
      </label>
      <button type="button" className="btn btn-sm" disabled={!chosen || typeof config.subject !== 'string'} onClick={() => void render()}>Show preview</button>
      {error ? <p className="error-text small" role="alert">{errorMessage(error)}</p> : null}
      {preview ? (
        <div style={{ marginTop: 8 }}>
          <div className="small"><b>To:</b> {preview.to} · <b>Subject:</b> {preview.subject}</div>
          <div className="seg" role="tablist" aria-label="Preview view" style={{ marginTop: 8 }}>
            <button type="button" role="tab" aria-selected={view === 'html'} className={view === 'html' ? 'on' : ''} disabled={!preview.html} onClick={() => setView('html')}>HTML</button>
            <button type="button" role="tab" aria-selected={view === 'text'} className={view === 'text' ? 'on' : ''} disabled={!preview.text} onClick={() => setView('text')}>Plain text</button>
          </div>
          {view === 'html' && preview.html ? (
            <iframe title="Email preview HTML" sandbox="" srcDoc={preview.html} style={{ width: '100%', minHeight: 240, border: '1px solid #dee2e6', borderRadius: 6 }} />
          ) : (
            <pre className="json" aria-label="Email preview text" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{preview.text}</pre>
          )}
        </div>
      ) : null}
    </fieldset>
  );
}
