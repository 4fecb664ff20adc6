// The dashboard's root: the session (sign-in when the admin has a token),
// the one live stream, and hash routing between the pages:
// #/routes (all routes), #/route/NAME (one route), #/instances (the fleet),
// #/report[/NAME] (the migration report) and #/plan (when report.plan is set).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, signOut, useSessionToken } from './api.ts';
import { ConfirmDialog } from './confirm.ts';
import { html } from './format.ts';
import { InstancesPage } from './instances-page.ts';
import { connect, disconnect, type LiveStatus, onStatus } from './live.ts';
import { PlanPage, planConfigured } from './plan-page.ts';
import { ReportPage } from './report-page.ts';
import { RoutePage } from './route-page.ts';
import { RoutesPage } from './routes-page.ts';
import { SignIn } from './sign-in.ts';
import type { Session } from './types.ts';

type Page =
  | { page: 'routes' }
  | { page: 'route'; name: string }
  | { page: 'instances' }
  | { page: 'report'; name: string | undefined }
  | { page: 'plan' };

function pageOf(hash: string): Page {
  const route = /^#\/route\/(.+)$/.exec(hash);
  if (route) return { page: 'route', name: decodeURIComponent(route[1]) };
  if (hash === '#/instances') return { page: 'instances' };
  const report = /^#\/report(?:\/(.+))?$/.exec(hash);
  if (report) return { page: 'report', name: report[1] && decodeURIComponent(report[1]) };
  if (hash === '#/plan') return { page: 'plan' };
  return { page: 'routes' };
}

function useHash(): Page {
  const [page, setPage] = useState(pageOf(location.hash));
  useEffect(() => {
    const update = () => setPage(pageOf(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return page;
}

const LIVE_LABEL: Record<LiveStatus, string> = {
  open: 'live',
  connecting: 'reconnecting…',
  closed: 'offline',
};

function Header(props: { session: Session; page: Page; onSignOut: () => void }) {
  const [live, setLive] = useState<LiveStatus>('closed');
  useEffect(() => onStatus(setLive), []);
  // Plan only when the gateway has one (report.plan); a failed look is no plan.
  const [plan, setPlan] = useState(false);
  useEffect(() => {
    planConfigured()
      .then(setPlan)
      .catch(() => setPlan(false));
  }, []);
  const current = (p: Page['page']) => (props.page.page === p ? 'page' : undefined);
  return html`<header class="top">
    <a class="brand" href="#/routes">Cutover</a>
    <nav aria-label="Pages">
      <a href="#/routes" aria-current=${current('routes')}>Routes</a>
      <a href="#/instances" aria-current=${current('instances')}>Instances</a>
      <a href="#/report" aria-current=${current('report')}>Report</a>
      ${plan ? html`<a href="#/plan" aria-current=${current('plan')}>Plan</a>` : null}
    </nav>
    <span class=${`live live-${live}`} role="status">${LIVE_LABEL[live]}</span>
    <span class="who">${props.session.name} <span class="role">(${props.session.role})</span></span>
    ${
      // Without a token (loopback only) the admin signs everyone in as `local`: nothing to sign out of.
      props.session.name === 'local' && props.session.role === 'operator'
        ? null
        : html`<button type="button" onClick=${props.onSignOut}>Sign out</button>`
    }
  </header>`;
}

function App() {
  const [session, setSession] = useState<Session | undefined | null>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  /** A sign-out the admin could not make fleet-wide (the state store away: 503). */
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const page = useHash();

  useEffect(() => {
    currentSession()
      .then((s) => setSession(s ?? null))
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  useEffect(() => {
    useSessionToken(session ?? undefined);
    if (session) connect();
    else disconnect();
  }, [session]);

  if (error) return html`<main><p class="error" role="alert">${error}</p></main>`;
  if (session === undefined) return html`<main><p>Loading…</p></main>`;
  if (session === null) return html`<${SignIn} onSignedIn=${setSession} notice=${notice} />`;
  const operator = session.role === 'operator';
  const out = () => {
    setNotice(undefined);
    signOut()
      .catch((e: unknown) =>
        // The cookie is cleared and this instance refuses it; the other instances may not know yet.
        setNotice(
          `Signed out here, but not everywhere: ${e instanceof Error ? e.message : String(e)}`,
        ),
      )
      .finally(() => setSession(null));
  };
  return html`<${Header} session=${session} page=${page} onSignOut=${out} />
    ${
      page.page === 'route'
        ? html`<${RoutePage} key=${page.name} name=${page.name} operator=${operator} />`
        : page.page === 'instances'
          ? html`<${InstancesPage} />`
          : page.page === 'report'
            ? html`<${ReportPage} key=${page.name ?? ''} route=${page.name} />`
            : page.page === 'plan'
              ? html`<${PlanPage} />`
              : html`<${RoutesPage} />`
    }
    <${ConfirmDialog} />`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
