import { Suspense, lazy, useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiError, api, ok, setCsrfToken, setUnauthorizedHandler } from './api/client.ts';
import { useMe } from './api/hooks.ts';
import { match, navigate, useLocation } from './router.ts';
import { SessionContext } from './session.ts';
import { SignInPage } from './pages/SignInPage.tsx';
import { FlowsPage } from './pages/FlowsPage.tsx';
import { FlowEditorPage } from './pages/FlowEditorPage.tsx';
import { RunsPage } from './pages/RunsPage.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { ContactsPage } from './pages/ContactsPage.tsx';
import { ContactPage } from './pages/ContactPage.tsx';
import { PluginsPage } from './pages/PluginsPage.tsx';
import { OutboxPage } from './pages/OutboxPage.tsx';
import { SettingsPage } from './pages/SettingsPage.tsx';
import { OwnersPage } from './pages/programs/OwnersPage.tsx';
import { TasksPage } from './pages/programs/TasksPage.tsx';
import { ScoringPage } from './pages/programs/ScoringPage.tsx';
import { ProgramsPage } from './pages/programs/ProgramsPage.tsx';
import { EmptyState, ErrorBox, Spinner } from './ui/common.tsx';
import { Icon } from './ui/icons.tsx';

// Pages with their own heavy code (charts, editors) load on first visit, outside the main bundle (W5).
const SegmentsPage = lazy(() => import('./pages/segments/SegmentsPage.tsx').then((m) => ({ default: m.SegmentsPage })));
const DashboardPage = lazy(() => import('./pages/dashboard/DashboardPage.tsx').then((m) => ({ default: m.DashboardPage })));

const NAV = [
  { to: '/flows', label: 'Flows', icon: 'flow' },
  { to: '/runs', label: 'Runs', icon: 'runs' },
  { to: '/dashboard', label: 'Dashboard', icon: 'pulse' },
  { to: '/contacts', label: 'Contacts', icon: 'contacts' },
  { to: '/segments', label: 'Segments', icon: 'contacts' },
  { to: '/tasks', label: 'Tasks', icon: 'check' },
  { to: '/owners', label: 'Owners', icon: 'contacts' },
  { to: '/scoring', label: 'Scoring', icon: 'pulse' },
  { to: '/programs', label: 'Referral & loyalty', icon: 'message' },
  { to: '/plugins', label: 'Plugins', icon: 'plugin' },
  { to: '/outbox', label: 'Outbox', icon: 'message' },
  { to: '/settings', label: 'Settings', icon: 'settings' },
] as const;

function Screen({ pathname }: { pathname: string }) {
  let m: Record<string, string> | null;
  if ((m = match('/flows/:id', pathname))) return <FlowEditorPage key={m.id} flowId={m.id} />;
  if (match('/runs', pathname)) return <RunsPage />;
  if ((m = match('/runs/:id', pathname))) return <RunPage runId={m.id} />;
  if (match('/contacts', pathname)) return <ContactsPage />;
  if (match('/segments', pathname)) return <SegmentsPage />;
  if (match('/dashboard', pathname)) return <DashboardPage />;
  if ((m = match('/contacts/:id', pathname))) return <ContactPage contactId={m.id} />;
  if (match('/plugins', pathname)) return <PluginsPage />;
  if (match('/outbox', pathname)) return <OutboxPage />;
  if (match('/settings', pathname)) return <SettingsPage />;
  if (match('/tasks', pathname)) return <TasksPage />;
  if (match('/owners', pathname)) return <OwnersPage />;
  if (match('/scoring', pathname)) return <ScoringPage />;
  if (match('/programs', pathname)) return <ProgramsPage />;
  if (pathname === '/' || match('/flows', pathname) || match('/signin', pathname)) return <FlowsPage />;
  // An unknown address says so instead of showing another screen as if it were the one asked for.
  return (
    <div className="page">
      <EmptyState title="Page not found" action={<a className="btn" href="/flows" onClick={(e) => { e.preventDefault(); navigate('/flows'); }}>Go to flows</a>}>
        There is no page at <code>{pathname}</code>.
      </EmptyState>
    </div>
  );
}

export function App() {
  const me = useMe();
  const qc = useQueryClient();
  const { pathname } = useLocation();

  useEffect(() => {
    setUnauthorizedHandler(() => qc.setQueryData(['/v1/auth/me'], null));
  }, [qc]);
  useEffect(() => setCsrfToken(me.data?.csrf_token ?? null), [me.data]);
  useEffect(() => {
    if (me.data && (pathname === '/' || pathname === '/signin')) navigate('/flows', true);
  }, [me.data, pathname]);

  if (me.isPending) return <div className="boot"><Spinner label="Loading Cairn" /></div>;
  if (!me.data) {
    if (me.error && !(me.error instanceof ApiError && me.error.status === 401)) {
      return <div className="boot"><ErrorBox error={me.error} onRetry={() => me.refetch()} /></div>;
    }
    return <SignInPage onSignedIn={() => me.refetch()} />;
  }

  const signOut = async () => {
    await ok(api.POST('/v1/auth/logout')).catch(() => undefined);
    qc.clear();
    qc.setQueryData(['/v1/auth/me'], null);
    navigate('/signin', true);
  };
  const section = '/' + (pathname.split('/')[1] || 'flows');
  // The flow editor needs the width: the navigation shrinks to an icon rail there.
  const compact = !!match('/flows/:id', pathname);
  return (
    <SessionContext.Provider value={me.data}>
      <div className={`shell${compact ? ' compact' : ''}`}>
        <nav className="sidebar" aria-label="Main">
          <a className="brand" href="/flows" aria-label="Cairn: flows" onClick={(e) => { e.preventDefault(); navigate('/flows'); }}>
            <img src="/favicon.svg" alt="" width={26} height={26} /> <span>Cairn</span>
          </a>
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <a
                  href={item.to}
                  title={item.label}
                  aria-current={section === item.to ? 'page' : undefined}
                  onClick={(e) => { e.preventDefault(); navigate(item.to); }}
                >
                  <Icon name={item.icon} size={18} /> <span className="nav-label">{item.label}</span>
                </a>
              </li>
            ))}
          </ul>
          <div className="sidebar-foot">
            <div className="who" title={me.data.user?.email}>
              <div className="who-email">{me.data.user?.name || me.data.user?.email}</div>
              <div className="who-ws">{me.data.workspace.name || me.data.workspace.slug} · <span className={`role role-${me.data.role}`}>{me.data.role}</span></div>
            </div>
            <button className="btn btn-ghost btn-sm" onClick={signOut} title="Sign out"><Icon name="back" /> <span className="nav-label">Sign out</span></button>
          </div>
        </nav>
        <main className="main">
          <Suspense fallback={<div className="page"><Spinner label="Loading" /></div>}>
            <Screen pathname={pathname} />
          </Suspense>
        </main>
      </div>
    </SessionContext.Provider>
  );
}
