// Token lifecycle against the sandbox over HTTP: on-demand refresh, single flight, rotation, the
// terminal CREDENTIALS state, app-level failures and the cooldown after an unreachable Microsoft.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SEEDED_APP } from "../sandbox/src/seed.ts";
import type { AccountEvent } from "../src/domain/accounts/account-events.ts";
import { TokenManager } from "../src/domain/accounts/token-manager.ts";
import { AppError } from "../src/lib/errors.ts";
import { TokenClient } from "../src/providers/microsoft/identity.ts";
import { ShiftedClock } from "./support/clock.ts";
import { type ConnectHarness, freePort, startConnectHarness } from "./support/connect-harness.ts";
import {
  connectMailbox,
  connectNewMailbox,
  countersOf,
  expireAccessToken,
  graphMe,
  scenario,
} from "./support/token-lifecycle.ts";
import { until } from "./support/until.ts";

async function rejects(promise: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe("token lifecycle: refresh on demand against the sandbox", () => {
  let h: ConnectHarness;
  const statusEvents: AccountEvent[] = [];

  before(async () => {
    h = await startConnectHarness();
    h.services.accountEvents.add({
      name: "test",
      handle: async (event) => {
        if (event.type === "CREDENTIALS") statusEvents.push(event);
      },
    });
  });
  after(async () => {
    await h.dispose();
  });

  it("an expired access token is refreshed, stored, and works at Graph; the next call reuses it", async () => {
    const account = await connectNewMailbox(h, "happy");
    await expireAccessToken(h.services, account.id);
    const before = h.sandbox.state.counters.tokenRefreshes;
    const token = await h.services.tokens.getAccessToken(account.id);
    assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1, "one refresh grant");
    assert.equal(await graphMe(h.sandbox, token), 200, "the new token is accepted by Graph");
    const row = (await h.services.repos.accounts.findById(account.id))!;
    assert.equal(h.services.secrets.decrypt(row.access_token!), token);
    assert.ok(row.access_token_expires_at! > Date.now() + 30 * 60_000, "expiry from expires_in");
    assert.ok(row.last_refreshed_at! >= Date.now() - 60_000, "last_refreshed_at recorded");
    assert.equal(row.refresh_lock_owner, null, "the lease is released");

    assert.equal(await h.services.tokens.getAccessToken(account.id), token);
    assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1, "a valid token is not refreshed");
    const metrics = await h.services.metrics.registry.getSingleMetricAsString(
      "mailroom_token_refreshes_total",
    );
    assert.match(metrics, /mailroom_token_refreshes_total\{outcome="ok"\} [1-9]/);
  });

  it("a token within the 5-minute margin is refreshed before use", async () => {
    const account = await connectNewMailbox(h, "margin");
    await h.services.repos.accounts.update(account.id, { access_token_expires_at: Date.now() + 4 * 60_000 });
    const before = h.sandbox.state.counters.tokenRefreshes;
    const old = h.services.secrets.decrypt(account.access_token!);
    const token = await h.services.tokens.getAccessToken(account.id);
    assert.notEqual(token, old);
    assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1);
  });

  it("single flight: 100 parallel demands on an expired token make exactly one refresh grant", async () => {
    const account = await connectNewMailbox(h, "flight");
    await expireAccessToken(h.services, account.id);
    const before = h.sandbox.state.counters.tokenRefreshes;
    const tokens = await Promise.all(
      Array.from({ length: 100 }, () => h.services.tokens.getAccessToken(account.id)),
    );
    assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1);
    assert.equal(new Set(tokens).size, 1, "every caller gets the same token");
  });

  it("forceRefresh after a Graph 401 refreshes once even while the stored token looks valid", async () => {
    const account = await connectNewMailbox(h, "force");
    const rejected = await h.services.tokens.getAccessToken(account.id);
    const before = h.sandbox.state.counters.tokenRefreshes;
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => h.services.tokens.getAccessToken(account.id, { forceRefresh: true })),
    );
    assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1);
    assert.equal(new Set(tokens).size, 1);
    assert.notEqual(tokens[0], rejected);
  });

  it("the rotated refresh token is stored with the access token: the stored envelope decrypts to the sandbox's newest", async () => {
    const account = await connectNewMailbox(h, "rotate");
    const firstRefresh = h.services.secrets.decrypt(account.refresh_token!);
    for (let i = 0; i < 2; i++) {
      await expireAccessToken(h.services, account.id);
      await h.services.tokens.getAccessToken(account.id);
    }
    const row = (await h.services.repos.accounts.findById(account.id))!;
    const stored = h.services.secrets.decrypt(row.refresh_token!);
    const issued = [...h.sandbox.state.refreshTokens.entries()]
      .filter(([, rt]) => rt.userId === h.sandbox.state.userByEmail(account.email)!.id)
      .sort(([, a], [, b]) => a.issuedAt - b.issuedAt);
    assert.equal(issued.length, 3, "connect + two refreshes each issued a refresh token");
    assert.notEqual(stored, firstRefresh);
    assert.equal(stored, issued.at(-1)![0], "the newest refresh token is the stored one");
  });

  it("a refresh response without a refresh token keeps the stored one", async () => {
    const account = await connectNewMailbox(h, "norotate");
    const withoutRefreshToken = new TokenManager({
      accounts: h.services.repos.accounts,
      settings: h.services.microsoftSettings,
      // One client edge case: Microsoft may answer a refresh without a new refresh token.
      tokens: {
        refresh: async (app, refreshToken) => ({
          ...(await h.services.tokenClient.refresh(app, refreshToken)),
          refreshToken: undefined,
        }),
      },
      secrets: h.services.secrets,
      transaction: h.services.unitOfWork,
      events: h.services.accountEvents,
      clock: h.services.clock,
      log: h.services.log,
    });
    await expireAccessToken(h.services, account.id);
    const token = await withoutRefreshToken.getAccessToken(account.id);
    const row = (await h.services.repos.accounts.findById(account.id))!;
    assert.equal(h.services.secrets.decrypt(row.access_token!), token, "the access token is stored");
    assert.equal(
      h.services.secrets.decrypt(row.refresh_token!),
      h.services.secrets.decrypt(account.refresh_token!),
      "the old refresh token is kept",
    );
  });

  for (const [action, reason] of [
    ["change_password", "password_changed"],
    ["revoke_consent", "consent_revoked"],
    ["expire_refresh_tokens", "refresh_expired"],
  ] as const) {
    it(`${action} → the account goes to CREDENTIALS (${reason}), a CREDENTIALS account event is delivered once, callers get disconnected_account`, async () => {
      const account = await connectNewMailbox(h, action);
      await scenario(h.sandbox, { action, user: account.email, client_id: SEEDED_APP.clientId });
      await expireAccessToken(h.services, account.id);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => h.services.tokens.getAccessToken(account.id)),
      );
      for (const result of results) {
        assert.equal(result.status, "rejected");
        assert.equal((result.reason as AppError).code, "disconnected_account");
      }
      const row = (await h.services.repos.accounts.findById(account.id))!;
      assert.equal(row.status, "CREDENTIALS");
      assert.equal(row.status_reason, reason);
      assert.equal(row.refresh_lock_owner, null);
      const events = await until("the CREDENTIALS event", () => {
        const found = statusEvents.filter((e) => e.accountId === account.id);
        return found.length > 0 ? found : undefined;
      });
      const stored = await h.services.storage.db
        .selectFrom("account_events")
        .selectAll()
        .where("account_id", "=", account.id)
        .where("type", "=", "CREDENTIALS")
        .execute();
      assert.equal(stored.length, 1, "one stored event for the transition");
      assert.equal(events.length, 1, "delivered once");
      assert.equal(events[0]?.id, stored[0]?.id);
      assert.equal(events[0]?.reason, reason);
    });
  }

  it("CREDENTIALS accounts answer disconnected_account without any call to Microsoft", async () => {
    const account = await connectNewMailbox(h, "disconnected");
    await h.services.repos.accounts.update(account.id, {
      status: "CREDENTIALS",
      status_reason: "password_changed",
      access_token_expires_at: Date.now() - 1_000,
    });
    const before = countersOf(h.sandbox);
    await rejects(h.services.tokens.getAccessToken(account.id), "disconnected_account");
    await rejects(
      h.services.tokens.getAccessToken(account.id, { forceRefresh: true }),
      "disconnected_account",
    );
    assert.deepEqual(countersOf(h.sandbox), before);
  });

  it("an unknown account is resource_not_found", async () => {
    await rejects(h.services.tokens.getAccessToken("AAAAAAAAAAAAAAAAAAAAAA"), "resource_not_found");
  });

  it("an unreachable token endpoint: 503 with Retry-After, one attempt per cooldown whatever the callers, backoff doubles; a reconnect clears the cooldown", async () => {
    const account = await connectNewMailbox(h, "cooldown");
    const closed = `http://127.0.0.1:${await freePort()}`;
    let attempts = 0;
    const clock = new ShiftedClock();
    const unreachable = new TokenManager({
      accounts: h.services.repos.accounts,
      settings: h.services.microsoftSettings,
      tokens: new TokenClient({
        endpoints: { loginUrl: closed },
        fetch: (input, init) => {
          attempts++;
          return fetch(input, init);
        },
      }),
      secrets: h.services.secrets,
      transaction: h.services.unitOfWork,
      events: h.services.accountEvents,
      clock,
      log: h.services.log,
    });
    await expireAccessToken(h.services, account.id);
    const first = await rejects(unreachable.getAccessToken(account.id), "service_unavailable");
    assert.equal(first.retryAfterSeconds, 5);
    assert.equal(attempts, 1);
    const during = await Promise.allSettled(
      Array.from({ length: 20 }, () => unreachable.getAccessToken(account.id)),
    );
    assert.ok(
      during.every((r) => r.status === "rejected" && (r.reason as AppError).code === "service_unavailable"),
    );
    assert.equal(attempts, 1, "no caller retries Microsoft during the cooldown");
    let row = (await h.services.repos.accounts.findById(account.id))!;
    assert.equal(row.status, "OK", "an outage is not the mailbox's fault");
    assert.equal(row.refresh_failures, 1);

    clock.advance(6_000);
    const second = await rejects(unreachable.getAccessToken(account.id), "service_unavailable");
    assert.equal(attempts, 2, "tried again once the cooldown lapsed");
    assert.equal(second.retryAfterSeconds, 10, "the cooldown doubles");

    // The real manager shares the database: it honours the cooldown too.
    const before = countersOf(h.sandbox);
    await rejects(h.services.tokens.getAccessToken(account.id), "service_unavailable");
    assert.deepEqual(countersOf(h.sandbox), before);

    const user = { email: account.email, password: "Sandbox!2345" };
    await connectMailbox(h, user, account.id);
    row = (await h.services.repos.accounts.findById(account.id))!;
    assert.equal(row.refresh_retry_at, null, "reconnect cleared the cooldown");
    assert.equal(row.refresh_failures, null);
    await expireAccessToken(h.services, account.id);
    const refreshes = h.sandbox.state.counters.tokenRefreshes;
    const token = await h.services.tokens.getAccessToken(account.id);
    assert.equal(h.sandbox.state.counters.tokenRefreshes - refreshes, 1);
    assert.equal(await graphMe(h.sandbox, token), 200);
  });

  it("while refreshes cool down, a demand still gets a stored token that is valid for a while", async () => {
    const account = await connectNewMailbox(h, "stale-ok");
    const stored = h.services.secrets.decrypt(account.access_token!);
    await h.services.repos.accounts.update(account.id, {
      access_token_expires_at: Date.now() + 2 * 60_000,
      refresh_failures: 1,
      refresh_retry_at: Date.now() + 60_000,
    });
    const before = countersOf(h.sandbox);
    assert.equal(await h.services.tokens.getAccessToken(account.id), stored);
    assert.deepEqual(countersOf(h.sandbox), before);
    await rejects(
      h.services.tokens.getAccessToken(account.id, { forceRefresh: true }),
      "service_unavailable",
    );
  });

  // Last: it expires the app's secret, then the operator replaces it.
  it("expire_secret → the app problem is reported once per cooldown, accounts stay OK, callers get 503; a new secret works at once", async () => {
    const account = await connectNewMailbox(h, "secret");
    const other = await connectNewMailbox(h, "secret-other");
    // On-demand refresh only: a background refresh (the sweep) started before the cooldown exists
    // would also reach Microsoft and blur the counters this test reads.
    await h.services.jobs.stop();
    await scenario(h.sandbox, { action: "expire_secret", client_id: SEEDED_APP.clientId });
    await expireAccessToken(h.services, account.id);
    await expireAccessToken(h.services, other.id);
    const error = await rejects(h.services.tokens.getAccessToken(account.id), "service_unavailable");
    assert.equal(error.status, 503);
    assert.ok(error.retryAfterSeconds! >= 1);
    const settings = await h.services.microsoftSettings.get();
    assert.equal(settings?.appProblem?.code, "expired_secret");
    for (const id of [account.id, other.id]) {
      const row = (await h.services.repos.accounts.findById(id))!;
      assert.equal(row.status, "OK");
      assert.equal(row.status_reason, null);
      assert.equal(row.refresh_retry_at, null, "no per-account cooldown: it is not the account's fault");
    }
    assert.equal(
      statusEvents.filter((e) => e.accountId === account.id).length,
      0,
      "no account_status event for an app problem",
    );
    const before = countersOf(h.sandbox);
    await rejects(h.services.tokens.getAccessToken(other.id), "service_unavailable");
    assert.deepEqual(countersOf(h.sandbox), before, "the app cooldown holds back every account");
    const metrics = await h.services.metrics.registry.getSingleMetricAsString(
      "mailroom_token_refreshes_total",
    );
    assert.match(metrics, /outcome="app_misconfigured"\} 1\b/);

    const res = await fetch(`${h.sandbox.url}/_sandbox/apps/${SEEDED_APP.clientId}/secrets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const { client_secret } = (await res.json()) as { client_secret: string };
    await h.services.microsoftSettings.save({ clientId: SEEDED_APP.clientId, clientSecret: client_secret });
    const token = await h.services.tokens.getAccessToken(account.id);
    assert.equal(await graphMe(h.sandbox, token), 200, "the new secret is used without waiting");
  });
});
