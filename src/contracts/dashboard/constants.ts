// The few runtime values the dashboard's browser code shares with the server. Imports nothing, so the
// browser bundle takes these without TypeBox.

/** Prefix of the dashboard's JSON API. */
export const DASHBOARD_API = "/dashboard/api";

/** Header that carries the session's CSRF token on every state-changing request. */
export const CSRF_HEADER = "x-mailroom-csrf";

/**
 * The dashboard's client-side pages. The React router renders exactly these, and the server answers
 * each with the app's index.html, so a reload of any page loads the app.
 */
export const DASHBOARD_PAGES = {
  home: "/",
  setup: "/setup",
  signIn: "/sign-in",
  accounts: "/accounts",
  account: "/accounts/:id",
  apiKeys: "/api-keys",
  webhooks: "/webhooks",
  settings: "/settings",
  admins: "/admins",
} as const;
export type DashboardPage = keyof typeof DASHBOARD_PAGES;
