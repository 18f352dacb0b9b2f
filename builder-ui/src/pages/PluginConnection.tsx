import { useState } from 'react';
import { api, errorMessage, ok } from '../api/client.ts';
import { useApiMutation } from '../api/hooks.ts';
import type { Plugin } from '../api/types.ts';

type TestAnswer = Awaited<ReturnType<typeof testConnection>>;
const testConnection = (id: string) => ok(api.POST('/v1/plugins/{id}/credentials/test', { params: { path: { id } } }));

/** What the OAuth2 callback redirected back with (`?connected=<id>` or `?plugin=<id>&oauth_error=<code>`), for this plugin. */
function callbackOutcome(pluginId: string): { connected: boolean; error: string | null } {
  const q = new URLSearchParams(window.location.search);
  return { connected: q.get('connected') === pluginId, error: q.get('plugin') === pluginId ? q.get('oauth_error') : null };
}

/**
 * The plugin's connection to its vendor, under its credentials form: "Connect with <vendor>" for OAuth2 plugins
 * (the engine answers the provider's authorize URL and the browser goes there; the provider sends it back to the
 * engine, which stores the tokens and returns here), and "Test connection" for plugins with a test function.
 */
export function PluginConnection({ plugin }: { plugin: Plugin }) {
  const name = plugin.name ?? plugin.id;
  const id = plugin.id;
  const { method, test, connected, fields_set: stored } = plugin.credentials;
  const outcome = callbackOutcome(plugin.id);
  const [result, setResult] = useState<TestAnswer | null>(null);
  const start = useApiMutation(() => ok(api.POST('/v1/plugins/{id}/oauth/start', { params: { path: { id } } })), []);
  const check = useApiMutation(() => testConnection(id), []);
  const disconnect = useApiMutation(() => ok(api.DELETE('/v1/plugins/{id}/credentials', { params: { path: { id } } })), [['/v1/plugins']]);
  const oauth = method === 'oauth2';
  const hasClient = stored.includes('client_id') && stored.includes('client_secret');
  if (!oauth && !test) return null;
  const connect = async () => {
    const { authorize_url: url } = await start.mutateAsync(undefined);
    window.location.assign(url);
  };
  const runTest = async () => {
    setResult(null);
    setResult(await check.mutateAsync(undefined));
  };
  return (
    <div className="cred-actions" aria-label={`Connection to ${name}`}>
      {oauth ? (
        <>
          <span className={`badge badge-${connected ? 'green' : 'gray'}`}>{connected ? 'connected' : 'not connected'}</span>
          <button type="button" className="btn btn-sm btn-primary" onClick={() => void connect().catch(() => undefined)} disabled={!hasClient || start.isPending}
            title={hasClient ? undefined : 'Save the OAuth client id and secret first'}>
            {connected ? `Reconnect with ${name}` : `Connect with ${name}`}
          </button>
          {connected ? <button type="button" className="btn btn-sm" onClick={() => disconnect.mutate(undefined)} disabled={disconnect.isPending}>Disconnect</button> : null}
          {!hasClient ? <span className="muted small">Save the OAuth client id and secret of your {name} app first.</span> : null}
        </>
      ) : null}
      {test ? <button type="button" className="btn btn-sm" onClick={() => void runTest().catch(() => undefined)} disabled={check.isPending}>Test connection</button> : null}
      {outcome.connected ? <span className="ok small" role="status">Connected to {name}.</span> : null}
      {outcome.error ? <span className="error-text small" role="alert">Connecting failed: {outcome.error}</span> : null}
      {result?.ok ? <span className="ok small" role="status">Connection works{result.account ? `: ${result.account}` : ''}.</span> : null}
      {result && !result.ok ? <span className="error-text small" role="alert">Connection failed: [{result.code}] {result.message}</span> : null}
      {[start.error, check.error, disconnect.error].map((e, i) => (e ? <span key={i} className="error-text small" role="alert">{errorMessage(e)}</span> : null))}
    </div>
  );
}
