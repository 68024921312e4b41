// account_status webhooks from real outcomes: a mailbox connected through the wizard against the
// sandbox, then its consent revoked so the next refresh fails: the receiver gets Unipile's payloads.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SEEDED_APP } from "../sandbox/src/seed.ts";
import { verifySignature } from "../src/outbound/signing.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { connectNewMailbox, expireAccessToken, scenario } from "./support/token-lifecycle.ts";
import { until } from "./support/until.ts";

describe("account_status webhooks", () => {
  let h: ConnectHarness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let secret: string;
  before(async () => {
    h = await startConnectHarness("sqlite", { env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" } });
    receiver = await startReceiver();
    const res = await h.t.app.inject({
      method: "POST",
      url: "/api/v1/webhooks",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      payload: JSON.stringify({ request_url: receiver.url, source: "account_status" }),
    });
    assert.equal(res.statusCode, 201, res.body);
    secret = (res.json() as { secret: string }).secret;
  });
  after(async () => {
    await receiver.close();
    await h.dispose();
  });

  function statuses(accountId: string) {
    return receiver.received
      .map((r) => ({ r, body: JSON.parse(r.body) as { AccountStatus: Record<string, string> } }))
      .filter(({ body }) => body.AccountStatus.account_id === accountId);
  }
  /** Deliveries may overlap, so events are found by message, not by arrival order. */
  function status(accountId: string, message: string) {
    return statuses(accountId).find(({ body }) => body.AccountStatus.message === message);
  }

  it("connecting a mailbox sends a signed CREATION_SUCCESS then OK; a refresh refused after consent is revoked sends CREDENTIALS with the reason", async () => {
    const account = await connectNewMailbox(h, "wh");
    const created = await until("CREATION_SUCCESS", () => status(account.id, "CREATION_SUCCESS"));
    const ok = await until("OK after CREATION_SUCCESS", () => status(account.id, "OK"));
    assert.equal(
      ok.r.body,
      JSON.stringify({ AccountStatus: { account_id: account.id, account_type: "OUTLOOK", message: "OK" } }),
    );
    assert.equal(
      created.r.body,
      JSON.stringify({
        AccountStatus: { account_id: account.id, account_type: "OUTLOOK", message: "CREATION_SUCCESS" },
      }),
    );
    assert.ok(
      verifySignature(
        secret,
        created.r.body,
        String(created.r.headers["x-mailroom-signature"]),
        Math.floor(Date.now() / 1000),
      ),
    );
    assert.match(String(created.r.headers["x-mailroom-event-id"]), /^as_/);

    await scenario(h.sandbox, {
      action: "revoke_consent",
      user: account.email,
      client_id: SEEDED_APP.clientId,
    });
    await expireAccessToken(h.services, account.id);
    await assert.rejects(h.services.tokens.getAccessToken(account.id));
    const failed = await until("CREDENTIALS", () => status(account.id, "CREDENTIALS"));
    const body = JSON.parse(failed.r.body) as { AccountStatus: Record<string, string> };
    assert.deepEqual(Object.keys(body.AccountStatus), ["account_id", "account_type", "message", "reason"]);
    assert.equal(body.AccountStatus.message, "CREDENTIALS");
    assert.equal(body.AccountStatus.account_type, "OUTLOOK");
    assert.equal(typeof body.AccountStatus.reason, "string");
    assert.ok(
      verifySignature(
        secret,
        failed.r.body,
        String(failed.r.headers["x-mailroom-signature"]),
        Math.floor(Date.now() / 1000),
      ),
    );

    const deleted = await h.t.app.inject({
      method: "DELETE",
      url: `/api/v1/accounts/${account.id}`,
      headers: { "x-api-key": h.t.apiKey },
    });
    assert.equal(deleted.statusCode, 200);
    const gone = await until("DELETED", () => status(account.id, "DELETED"));
    assert.equal(
      gone.r.body,
      JSON.stringify({
        AccountStatus: { account_id: account.id, account_type: "OUTLOOK", message: "DELETED" },
      }),
    );
  });
});
