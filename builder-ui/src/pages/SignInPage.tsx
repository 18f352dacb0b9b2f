import { useState, type FormEvent } from 'react';
import { api, ok } from '../api/client.ts';
import { ErrorBox } from '../ui/common.tsx';

export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [workspace, setWorkspace] = useState(() => localStorage.getItem('cairn.workspace') ?? '');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await ok(api.POST('/v1/auth/login', { body: { workspace, email, password } }));
      localStorage.setItem('cairn.workspace', workspace);
      onSignedIn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <form className="signin-card" onSubmit={submit} aria-label="Sign in">
        <div className="signin-brand">
          <img src="/favicon.svg" alt="" width={36} height={36} />
          <div>
            <h1>Sign in to Cairn</h1>
            <p className="muted">Lifecycle flows for your customers</p>
          </div>
        </div>
        <label className="field">
          <span>Workspace</span>
          <input name="workspace" value={workspace} onChange={(e) => setWorkspace(e.target.value)} placeholder="demo" required autoComplete="organization" />
        </label>
        <label className="field">
          <span>Email</span>
          <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="username" />
        </label>
        <label className="field">
          <span>Password</span>
          <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" />
        </label>
        {error ? <ErrorBox error={(error as { status?: number }).status === 401 ? new Error('Wrong workspace, email or password.') : error} /> : null}
        <button className="btn btn-primary btn-block" type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        <p className="muted small">The zero-setup start (<code>pnpm start</code>) prints a sign-in for the demo workspace.</p>
      </form>
    </div>
  );
}
