// Layout, session gate and page routing of the operator dashboard.
import { type ReactElement, useCallback, useEffect, useState } from "react";
import { DASHBOARD_PAGES, type DashboardPage } from "../../src/contracts/dashboard/constants.ts";
import type { PollingInfo, SandboxInfo, SessionResponse } from "../../src/contracts/dashboard/index.ts";
import { call, setCsrfToken, whenSignedOut } from "./api.ts";
import { AccountPage } from "./pages/AccountPage.tsx";
import { AccountsPage } from "./pages/AccountsPage.tsx";
import { AdminsPage } from "./pages/AdminsPage.tsx";
import { ApiKeysPage } from "./pages/ApiKeysPage.tsx";
import { SettingsPage } from "./pages/SettingsPage.tsx";
import { SetupPage } from "./pages/SetupPage.tsx";
import { SignInPage } from "./pages/SignInPage.tsx";
import { WebhooksPage } from "./pages/WebhooksPage.tsx";
import { Link, matchPage, useLocation } from "./router.tsx";
import { Alert, Loading } from "./ui.tsx";

const NAV = [
  { href: DASHBOARD_PAGES.accounts, label: "Accounts" },
  { href: DASHBOARD_PAGES.apiKeys, label: "API keys" },
  { href: DASHBOARD_PAGES.webhooks, label: "Webhooks" },
  { href: DASHBOARD_PAGES.settings, label: "Settings" },
  { href: DASHBOARD_PAGES.admins, label: "Admins" },
];

/** Pages behind sign-in, one per entry of DASHBOARD_PAGES (the type makes a new entry need one). */
const SIGNED_IN_PAGES: Record<
  Exclude<DashboardPage, "home" | "setup" | "signIn">,
  (params: Record<string, string>) => ReactElement
> = {
  accounts: () => <AccountsPage />,
  account: (params) => <AccountPage id={params.id ?? ""} />,
  apiKeys: () => <ApiKeysPage />,
  webhooks: () => <WebhooksPage />,
  settings: () => <SettingsPage />,
  admins: () => <AdminsPage />,
};

export function App() {
  const { path, navigate } = useLocation();
  const [session, setSession] = useState<SessionResponse | undefined>();
  const [error, setError] = useState<string | undefined>();

  const refresh = useCallback(async () => {
    try {
      const s = await call("GET /session");
      setCsrfToken(s.csrfToken);
      setSession(s);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  useEffect(() => {
    whenSignedOut(() => {
      setCsrfToken(null);
      setSession((s) => (s ? { ...s, admin: null, csrfToken: null, sandbox: null } : s));
    });
    void refresh();
  }, [refresh]);

  useEffect(() => {
    const page = path === "/" ? "Overview" : (NAV.find((n) => path.startsWith(n.href))?.label ?? "");
    document.title = page ? `${page} · Mailroom` : "Mailroom";
  }, [path]);

  if (error)
    return (
      <main className="centered">
        <Alert kind="error" title="The dashboard could not load">
          {error}
        </Alert>
      </main>
    );
  if (!session)
    return (
      <main className="centered">
        <Loading what="the dashboard" />
      </main>
    );

  const match = matchPage(path);
  if (match?.page === "setup")
    return <SetupPage onDone={() => refresh().then(() => navigate(DASHBOARD_PAGES.settings))} />;
  if (!session.admin)
    return <SignInPage setupRequired={session.setupRequired} onSignedIn={() => refresh()} />;
  if (match?.page === "home" || match?.page === "signIn") {
    queueMicrotask(() => navigate(DASHBOARD_PAGES.accounts));
    return null;
  }

  const signOut = async () => {
    await call("POST /sign-out");
    setCsrfToken(null);
    await refresh();
    navigate(DASHBOARD_PAGES.signIn);
  };

  const page: ReactElement = match ? (
    SIGNED_IN_PAGES[match.page](match.params)
  ) : (
    <Alert kind="warning" title="This page does not exist">
      Pick a page from the menu.
    </Alert>
  );

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href={DASHBOARD_PAGES.accounts} className="brand">
          <span className="logo" aria-hidden="true">
            ✉
          </span>{" "}
          Mailroom
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <Link href={n.href} aria-current={path.startsWith(n.href) ? "page" : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>{session.admin.email}</span>
          <button type="button" className="secondary small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {session.sandbox && <SandboxBanner sandbox={session.sandbox} />}
      {session.polling && session.polling.stretch > 1 && <PollingBanner polling={session.polling} />}
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

function PollingBanner({ polling }: { polling: PollingInfo }) {
  return (
    <section className="sandbox-banner" role="status" aria-labelledby="polling-title">
      <p>
        <strong id="polling-title">Polling is stretched.</strong> Mailroom cannot poll{" "}
        {polling.polledAccounts} mailboxes every {polling.intervalSeconds} s, so each one is polled every{" "}
        {polling.effectiveIntervalSeconds} s (× {polling.stretch}) until it catches up. Polling lag: p99{" "}
        {polling.lagP99Seconds} s, max {polling.lagMaxSeconds} s. New mail is announced later meanwhile; Graph
        subscriptions (an https <code>PUBLIC_URL</code>) or more capacity remove the need to poll so often.
      </p>
    </section>
  );
}

function SandboxBanner({ sandbox }: { sandbox: SandboxInfo }) {
  return (
    <section className="sandbox-banner" aria-labelledby="sandbox-title">
      <p>
        <strong id="sandbox-title">Sandbox mode.</strong> Mailroom signs users in with a local emulator of
        Microsoft at <a href={sandbox.url}>{sandbox.url}</a>, not real Microsoft. Connect an account with one
        of the test users below. To use real Microsoft, start Mailroom with <code>SANDBOX=off</code>.
      </p>
      <details>
        <summary>Test users and their mailboxes ({sandbox.users.length})</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Password</th>
              <th scope="col">Kind</th>
              <th scope="col">Mailbox</th>
            </tr>
          </thead>
          <tbody>
            {sandbox.users.map((u) => (
              <tr key={u.email}>
                <td>
                  <code>{u.email}</code>
                </td>
                <td>
                  <code>{u.password}</code>
                </td>
                <td>{u.kind}</td>
                <td>
                  <a
                    href={`${sandbox.url}/_sandbox/mailboxes/${encodeURIComponent(u.email)}?format=html`}
                    target="_blank"
                    rel="noreferrer"
                  >
                    View mailbox<span className="visually-hidden"> of {u.email} (opens in a new tab)</span>
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}
