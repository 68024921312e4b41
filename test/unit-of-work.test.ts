// The unit of work: a state change and the rows and jobs that announce it commit together or not at
// all. A failure is injected by the database inside the transaction, at the last write before the
// commit (the announcing job); afterwards neither the change, nor the event, nor the job exists, and
// the same operation without the failure stores all of them. On every dialect.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SEED_PASSWORD, SEEDED_APP } from "../sandbox/src/seed.ts";
import { AppError } from "../src/lib/errors.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./support/browser.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { type Dialect, dialects } from "./support/databases.ts";
import { connectNewMailbox, expireAccessToken, scenario } from "./support/token-lifecycle.ts";
import { countRows, failJobInserts } from "./support/unit-of-work.ts";
import { until } from "./support/until.ts";

for (const dialect of dialects()) {
  describe(`unit of work on ${dialect}: a failure before the commit leaves nothing behind`, () =>
    rollbackSuite(dialect));
}

function rollbackSuite(dialect: Dialect): void {
  let h: ConnectHarness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const db = () => h.services.storage.db;

  before(async () => {
    h = await startConnectHarness(dialect, { env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" } });
    receiver = await startReceiver();
    for (const source of ["account_status", "email"]) {
      const res = await h.app.inject({
        method: "POST",
        url: "/api/v1/webhooks",
        headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
        payload: JSON.stringify({ request_url: `${receiver.url}&hook=${source}`, source }),
      });
      assert.equal(res.statusCode, 201, res.body);
    }
  });
  after(async () => {
    await receiver.close();
    await h.dispose();
  });

  /** The account_status messages the webhook receiver got for an account. */
  const statuses = (accountId: string) =>
    receiver.received
      .filter((r) => r.url.includes("hook=account_status"))
      .map((r) => JSON.parse(r.body) as { AccountStatus: { account_id: string; message: string } })
      .filter((b) => b.AccountStatus.account_id === accountId)
      .map((b) => b.AccountStatus.message);

  it("connecting through the wizard: no account, the link still unused, no event, no job; the same link then connects and is announced", async () => {
    const email = `uow-connect-${process.pid}@contoso.onmicrosoft.com`;
    const user = await fetch(`${h.sandbox.url}/_sandbox/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: SEED_PASSWORD }),
    });
    assert.equal(user.status, 201);
    const notifyUrl = `${receiver.url}&hook=notify`;
    const link = await h.createLink({ type: "create", providers: "*", notify_url: notifyUrl });
    assert.equal(link.status, 200, JSON.stringify(link.json));
    const linkRow = await db()
      .selectFrom("hosted_links")
      .selectAll()
      .where("notify_url", "=", notifyUrl)
      .executeTakeFirstOrThrow();
    const jobsBefore = await countRows(db(), "jobs", { kind: "accounts.event" });
    const eventsBefore = await countRows(db(), "account_events");

    const restore = await failJobInserts(h.services.storage, "accounts.event");
    const failed = await connectThroughWizard(
      new MultiOriginBrowser([h.baseUrl, h.sandbox.url]),
      link.json.url as string,
      { email, password: SEED_PASSWORD },
    );
    await restore();
    assert.equal(failed.status, 500, "the callback failed");
    assert.equal(await countRows(db(), "accounts", { email }), 0, "no account");
    const unused = await h.services.repos.hostedAuth.findLink(linkRow.id);
    assert.equal(unused?.used_at, null, "the link was not claimed");
    assert.equal(unused?.account_id, null);
    assert.equal(await countRows(db(), "account_events"), eventsBefore, "no event");
    assert.equal(await countRows(db(), "jobs", { kind: "accounts.event" }), jobsBefore, "no fan-out job");

    await connectThroughWizard(new MultiOriginBrowser([h.baseUrl, h.sandbox.url]), link.json.url as string, {
      email,
      password: SEED_PASSWORD,
    });
    const account = await db()
      .selectFrom("accounts")
      .selectAll()
      .where("email", "=", email)
      .executeTakeFirst();
    assert.ok(account, "the link connects once the failure is gone");
    const events = await db()
      .selectFrom("account_events")
      .selectAll()
      .where("account_id", "=", account.id)
      .execute();
    assert.deepEqual(
      events.map((e) => [e.type, JSON.parse(e.payload)]),
      [["CREATION_SUCCESS", { link_id: linkRow.id }]],
    );
    await until("the notify_url callback", () =>
      receiver.received.find((r) => r.url.includes("hook=notify")),
    );
    await until("CREATION_SUCCESS and OK", () => statuses(account.id).length >= 2);
    assert.deepEqual(statuses(account.id).sort(), ["CREATION_SUCCESS", "OK"]);
  });

  it("deleting an account: it stays, with no DELETED event and no job; deleting again works and is announced once", async () => {
    const account = await connectNewMailbox(h, "uow-delete");
    await until("the connect fan-out", () => statuses(account.id).length >= 2);
    const jobsBefore = await countRows(db(), "jobs", { kind: "accounts.event" });

    const restore = await failJobInserts(h.services.storage, "accounts.event");
    const failed = await h.app.inject({
      method: "DELETE",
      url: `/api/v1/accounts/${account.id}`,
      headers: { "x-api-key": h.t.apiKey },
    });
    await restore();
    assert.equal(failed.statusCode, 500, failed.body);
    assert.ok(await h.services.repos.accounts.findById(account.id), "the account is still there");
    assert.equal(await countRows(db(), "account_events", { account_id: account.id, type: "DELETED" }), 0);
    assert.equal(await countRows(db(), "jobs", { kind: "accounts.event" }), jobsBefore);

    const deleted = await h.app.inject({
      method: "DELETE",
      url: `/api/v1/accounts/${account.id}`,
      headers: { "x-api-key": h.t.apiKey },
    });
    assert.equal(deleted.statusCode, 200, deleted.body);
    assert.equal(await h.services.repos.accounts.findById(account.id), undefined);
    assert.equal(await countRows(db(), "account_events", { account_id: account.id, type: "DELETED" }), 1);
    await until("DELETED", () => statuses(account.id).includes("DELETED"));
  });

  it("a refused refresh: the account stays OK with its lease released, no CREDENTIALS event, no job; the next demand marks it and announces it", async () => {
    const account = await connectNewMailbox(h, "uow-credentials");
    await until("the connect fan-out", () => statuses(account.id).length >= 2);
    await scenario(h.sandbox, {
      action: "revoke_consent",
      user: account.email,
      client_id: SEEDED_APP.clientId,
    });
    await expireAccessToken(h.services, account.id);
    const jobsBefore = await countRows(db(), "jobs", { kind: "accounts.event" });

    const restore = await failJobInserts(h.services.storage, "accounts.event");
    const error = await h.services.tokens.getAccessToken(account.id).then(
      () => assert.fail("the refresh was refused"),
      (e: unknown) => e,
    );
    await restore();
    assert.ok(!(error instanceof AppError && error.code === "disconnected_account"), String(error));
    const row = await h.services.repos.accounts.findById(account.id);
    assert.equal(row?.status, "OK", "the status change was rolled back");
    assert.equal(row?.refresh_lock_owner, null, "the refresh lease was released");
    assert.equal(await countRows(db(), "account_events", { account_id: account.id, type: "CREDENTIALS" }), 0);
    assert.equal(await countRows(db(), "jobs", { kind: "accounts.event" }), jobsBefore);

    await assert.rejects(h.services.tokens.getAccessToken(account.id), (e: unknown) => {
      return e instanceof AppError && e.code === "disconnected_account";
    });
    assert.equal((await h.services.repos.accounts.findById(account.id))?.status, "CREDENTIALS");
    assert.equal(await countRows(db(), "account_events", { account_id: account.id, type: "CREDENTIALS" }), 1);
    await until("CREDENTIALS", () => statuses(account.id).includes("CREDENTIALS"));
  });

  it("publishing a mail event: no event, no delivery, no job; published again it stores all three, and a third publish adds nothing", async () => {
    const event = {
      id: `uow-publish-${dialect}`,
      type: "mail_received" as const,
      accountId: "uowAccountAAAAAAAAAAAAA",
      payload: { email_id: "e1", subject: "Hello" },
    };
    const restore = await failJobInserts(h.services.storage, "webhooks.deliver");
    await assert.rejects(h.services.webhooks.publish(event), /injected failure/);
    await restore();
    assert.equal(await countRows(db(), "webhook_events", { id: event.id }), 0, "no event");
    assert.equal(await countRows(db(), "webhook_deliveries", { event_id: event.id }), 0, "no delivery");
    const jobsBefore = await countRows(db(), "jobs", { kind: "webhooks.deliver" });

    assert.deepEqual(await h.services.webhooks.publish(event), { eventId: event.id, deliveries: 1 });
    assert.equal(await countRows(db(), "webhook_events", { id: event.id }), 1);
    assert.equal(await countRows(db(), "webhook_deliveries", { event_id: event.id }), 1);
    assert.equal(await countRows(db(), "jobs", { kind: "webhooks.deliver" }), jobsBefore + 1);

    assert.deepEqual(await h.services.webhooks.publish(event), { eventId: event.id, deliveries: 1 });
    assert.equal(await countRows(db(), "webhook_deliveries", { event_id: event.id }), 1);
    assert.equal(await countRows(db(), "jobs", { kind: "webhooks.deliver" }), jobsBefore + 1);
    await until("the delivery", () =>
      receiver.received.find((r) => r.headers["x-mailroom-event-id"] === event.id),
    );
  });

  it("replaying a delivery: the new round and its job commit together or not at all", async () => {
    const event = {
      id: `uow-replay-${dialect}`,
      type: "mail_received" as const,
      accountId: "uowAccountAAAAAAAAAAAAA",
    };
    await h.services.webhooks.publish({ ...event, payload: { email_id: "e2", subject: "Again" } });
    const delivered = await until("the first round delivered", async () => {
      const row = await db()
        .selectFrom("webhook_deliveries")
        .selectAll()
        .where("event_id", "=", event.id)
        .executeTakeFirst();
      return row?.status === "delivered" ? row : undefined;
    });
    const jobsBefore = await countRows(db(), "jobs", { kind: "webhooks.deliver" });

    const restore = await failJobInserts(h.services.storage, "webhooks.deliver");
    await assert.rejects(
      h.services.webhooks.replay(delivered.webhook_id, { deliveryId: delivered.id }),
      /injected failure/,
    );
    await restore();
    const unchanged = await h.services.storage.db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .where("id", "=", delivered.id)
      .executeTakeFirstOrThrow();
    assert.equal(unchanged.round, 0, "no new round");
    assert.equal(unchanged.status, "delivered");
    assert.equal(await countRows(db(), "jobs", { kind: "webhooks.deliver" }), jobsBefore, "no job");

    assert.deepEqual(await h.services.webhooks.replay(delivered.webhook_id, { deliveryId: delivered.id }), {
      deliveryIds: [delivered.id],
    });
    assert.equal(await countRows(db(), "jobs", { kind: "webhooks.deliver" }), jobsBefore + 1);
    await until(
      "the second round delivered",
      () => receiver.received.filter((r) => r.headers["x-mailroom-event-id"] === event.id).length === 2,
    );
  });
}
