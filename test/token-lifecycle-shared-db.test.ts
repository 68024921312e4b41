// Two Mailroom processes on one database (two separately built Services, as two servers or a server
// and a worker would be): a refresh happens once per account across them, on SQLite and PostgreSQL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { buildServices, type Services } from "../src/app/services.ts";
import { createLogger } from "../src/lib/logger.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { dialects } from "./support/databases.ts";
import { connectNewMailbox, expireAccessToken, graphMe } from "./support/token-lifecycle.ts";
import { until } from "./support/until.ts";

for (const dialect of dialects()) {
  describe(`token lifecycle across two processes sharing ${dialect}`, () => {
    let h: ConnectHarness;
    let second: Services;

    before(async () => {
      h = await startConnectHarness(dialect);
      second = await buildServices(h.t.config, createLogger({ level: "silent" }));
    });
    after(async () => {
      await second?.close();
      await h?.dispose();
    });

    it("single flight: 2 × 50 parallel demands from two Services instances make exactly one refresh grant", async () => {
      const account = await connectNewMailbox(h, `shared-${dialect}`);
      await expireAccessToken(h.services, account.id);
      const before = h.sandbox.state.counters.tokenRefreshes;
      const tokens = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          (i % 2 === 0 ? h.services : second).tokens.getAccessToken(account.id),
        ),
      );
      assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1);
      assert.equal(new Set(tokens).size, 1, "both processes hand out the token the winner stored");
      assert.equal(await graphMe(h.sandbox, tokens[0]!), 200);
      const row = (await second.repos.accounts.findById(account.id))!;
      assert.equal(row.refresh_lock_owner, null);
      assert.equal(second.secrets.decrypt(row.access_token!), tokens[0]);
    });

    it("a refresh held up at Microsoft keeps the lease: 20 demands in the other process wait for it and never redeem the refresh token again", async () => {
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      let held = 0;
      const slowFetch: typeof fetch = async (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (url.endsWith("/oauth2/v2.0/token")) {
          held++;
          await gate;
        }
        return fetch(input, init);
      };
      const slow = await buildServices(h.t.config, createLogger({ level: "silent" }), { fetch: slowFetch });
      try {
        const account = await connectNewMailbox(h, `slow-${dialect}`);
        await expireAccessToken(h.services, account.id);
        const before = h.sandbox.state.counters.tokenRefreshes;
        const first = slow.tokens.getAccessToken(account.id);
        await until("the slow process to be at Microsoft's token endpoint", () => held === 1);
        let settled = 0;
        const others = Array.from({ length: 20 }, () =>
          h.services.tokens.getAccessToken(account.id).finally(() => settled++),
        );
        const row = (await h.services.repos.accounts.findById(account.id))!;
        assert.ok(row.refresh_lock_owner, "the slow process holds the refresh lease");
        assert.equal(settled, 0);
        openGate();
        const tokens = await Promise.all([first, ...others]);
        assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1);
        assert.equal(held, 1);
        assert.equal(new Set(tokens).size, 1);
      } finally {
        openGate();
        await slow.close();
      }
    });

    it("a lease left by a crashed process lapses, then another process refreshes once", async () => {
      const account = await connectNewMailbox(h, `lapsed-${dialect}`);
      await expireAccessToken(h.services, account.id);
      const leaseEndsAt = Date.now() + 1_000;
      await h.services.repos.accounts.update(account.id, {
        refresh_lock_owner: "crashed-process",
        refresh_lock_until: leaseEndsAt,
      });
      const before = h.sandbox.state.counters.tokenRefreshes;
      const tokens = await Promise.all([
        h.services.tokens.getAccessToken(account.id),
        second.tokens.getAccessToken(account.id),
      ]);
      assert.ok(Date.now() >= leaseEndsAt, "nobody refreshed while the lease held");
      assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1);
      assert.equal(tokens[0], tokens[1]);
    });

    it("a CREDENTIALS verdict reached by one process is what the other answers", async () => {
      const account = await connectNewMailbox(h, `verdict-${dialect}`);
      await fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "revoke_tokens", user: account.email }),
      });
      await expireAccessToken(h.services, account.id);
      const results = await Promise.allSettled([
        h.services.tokens.getAccessToken(account.id),
        second.tokens.getAccessToken(account.id),
      ]);
      for (const r of results) {
        assert.equal(r.status, "rejected");
        assert.equal((r.reason as { code: string }).code, "disconnected_account");
      }
      const row = (await second.repos.accounts.findById(account.id))!;
      assert.equal(row.status, "CREDENTIALS");
      assert.equal(row.status_reason, "password_changed", "AADSTS50173 (revoked grant)");
    });
  });
}
