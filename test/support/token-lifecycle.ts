// Helpers for the token-lifecycle tests: real mailboxes connected through the hosted wizard against
// the sandbox, so every token in the database is one the sandbox issued.
import assert from "node:assert/strict";
import { SEED_PASSWORD } from "../../sandbox/src/seed.ts";
import type { Sandbox } from "../../sandbox/src/server.ts";
import type { Services } from "../../src/app/services.ts";
import type { AccountRow } from "../../src/storage/repositories/account.repository.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./browser.ts";
import type { ConnectHarness } from "./connect-harness.ts";

let userSeq = 0;

/** A new sandbox work user in the Contoso tenant (user consent allowed), connected as an account. */
export async function connectNewMailbox(h: ConnectHarness, label: string): Promise<AccountRow> {
  const email = `tl-${label}-${process.pid}-${++userSeq}@contoso.onmicrosoft.com`;
  const created = await fetch(`${h.sandbox.url}/_sandbox/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: SEED_PASSWORD }),
  });
  assert.equal(created.status, 201, await created.text());
  return connectMailbox(h, { email, password: SEED_PASSWORD });
}

export async function connectMailbox(
  h: ConnectHarness,
  user: { email: string; password: string },
  reconnectAccountId?: string,
): Promise<AccountRow> {
  const res = await h.createLink(
    reconnectAccountId
      ? { type: "reconnect", reconnect_account: reconnectAccountId }
      : { type: "create", providers: "*" },
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  const browser = new MultiOriginBrowser([h.baseUrl, h.sandbox.url]);
  await connectThroughWizard(browser, res.json.url as string, user);
  const rows = (await h.services.repos.accounts.page(1000)).filter((r) => r.email === user.email);
  assert.equal(rows.length, 1, `one account for ${user.email}`);
  return rows[0]!;
}

export async function scenario(sandbox: Sandbox, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${sandbox.url}/_sandbox/scenarios`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `scenario ${String(body.action)}: HTTP ${res.status} ${await res.text()}`);
}

/** Makes the stored access token look expired, as it will be an hour after the last refresh. */
export async function expireAccessToken(services: Services, accountId: string): Promise<void> {
  await services.repos.accounts.update(accountId, { access_token_expires_at: Date.now() - 1_000 });
}

/** Everything the sandbox counts, as plain data, to compare before and after. */
export function countersOf(sandbox: Sandbox): Record<string, unknown> {
  const c = sandbox.state.counters;
  return {
    requests: Object.fromEntries(c.requests),
    tokenGrants: c.tokenGrants,
    tokenRefreshes: c.tokenRefreshes,
    tokenErrors: Object.fromEntries(c.tokenErrors),
  };
}

/** Calls the sandbox's Graph with the token: proves it is a live token Microsoft would accept. */
export async function graphMe(sandbox: Sandbox, accessToken: string): Promise<number> {
  const res = await fetch(`${sandbox.url}/v1.0/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.body?.cancel();
  return res.status;
}
