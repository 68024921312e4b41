// The admin API end to end: users created at runtime get a mailbox, and every scenario switch of
// the issue (throttle / fail / latency per user, per app and per user+app, clear_faults,
// subscription_lifecycle) is set through POST /_sandbox/scenarios and observed at Graph or at
// the app's lifecycle URL. (revoke_consent, change_password, expire_refresh_tokens, revoke_tokens,
// expire_secret and disable_user are driven through the same API in identity-token.test.ts.)
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { until } from "../../test/support/until.ts";
import { mailboxes } from "../src/graph/mailbox-store.ts";
import { SEEDED, SEEDED_APP } from "../src/seed.ts";
import { type Sandbox, startSandbox } from "../src/server.ts";
import { subscriptionEngineOf } from "../src/subscriptions/routes.ts";
import { obtainTokens } from "./identity-helpers.ts";

interface Json {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

let sb: Sandbox;
let otherClientId = "";

async function admin(method: string, path: string, body?: unknown): Promise<Json> {
  const response = await fetch(`${sb.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

const scenario = (body: Record<string, unknown>) => admin("POST", "/_sandbox/scenarios", body);

/** A bearer token for `userId` through `clientId`, as the identity module would record it. */
function tokenFor(userId: string, clientId = SEEDED_APP.clientId): string {
  const token = `eyJ0eXAiOiJKV1QifQ.${randomUUID()}.admin-test`;
  sb.state.accessTokens.set(token, {
    token,
    userId,
    clientId,
    scopes: ["User.Read", "Mail.Read", "Mail.ReadWrite", "Mail.Send"],
    expiresAt: sb.state.now() + 3_600_000,
    revoked: false,
  });
  return token;
}

async function graph(token: string, path: string, init: RequestInit = {}): Promise<Json> {
  const response = await fetch(`${sb.url}/v1.0${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(init.headers ?? {}),
    },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

const inbox = (token: string) => graph(token, "/me/mailFolders/inbox/messages?$top=1&$select=id");

before(async () => {
  sb = await startSandbox({
    port: 0,
    corpusSize: 30,
    allowHttpNotifications: true,
    subscriptions: { batchWindowMs: 20, sweepIntervalMs: 50 },
  });
  const created = await admin("POST", "/_sandbox/apps", {
    name: "Second app",
    redirect_uris: ["http://localhost/callback"],
  });
  assert.equal(created.status, 201);
  otherClientId = created.body.client_id;
});

after(async () => {
  await sb?.close();
});

describe("users created at runtime", () => {
  test("a work user created through the admin API has a mailbox at once: signs in, reads mail, receives mail", async () => {
    const created = await admin("POST", "/_sandbox/users", {
      email: "runtime.person@contoso.onmicrosoft.com",
      password: "Welcome!123",
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.has_mailbox, true);
    assert.ok(mailboxes(sb.state).has(created.body.id), "the mailbox exists before the first Graph call");

    const tokens = await obtainTokens(sb, "runtime.person@contoso.onmicrosoft.com", "Welcome!123");
    const token = String(tokens.access_token);
    const page = await graph(token, "/me/messages?$top=50");
    assert.equal(page.status, 200);
    assert.ok(page.body.value.length > 0, "a small generated mailbox, not an empty one");
    const folders = await graph(token, "/me/mailFolders/inbox");
    assert.equal(folders.status, 200);
    assert.ok(folders.body.totalItemCount > 0);

    const delivered = await admin("POST", "/_sandbox/mail", {
      from: "someone@example.org",
      to: ["runtime.person@contoso.onmicrosoft.com"],
      subject: "Welcome aboard",
      body: "Hello",
    });
    assert.equal(delivered.status, 201);
    const found = await graph(
      token,
      `/me/messages?$filter=${encodeURIComponent("subject eq 'Welcome aboard'")}`,
    );
    assert.equal(found.body.value.length, 1);
  });

  test("a user created without a mailbox signs in but mail calls are 404 MailboxNotEnabledForRESTAPI", async () => {
    const created = await admin("POST", "/_sandbox/users", {
      email: "no.mail@contoso.onmicrosoft.com",
      kind: "no_mailbox",
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.has_mailbox, false);
    assert.equal(mailboxes(sb.state).has(created.body.id), false);
    const token = tokenFor(created.body.id);
    assert.equal((await graph(token, "/me")).status, 200);
    const messages = await graph(token, "/me/messages");
    assert.equal(messages.status, 404);
    assert.equal(messages.body.error.code, "MailboxNotEnabledForRESTAPI");
  });

  test("in a sandbox seeded without mail, a created user's mailbox exists and is empty", async () => {
    const bare = await startSandbox({ port: 0, seedCorpus: false });
    try {
      const response = await fetch(`${bare.url}/_sandbox/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "empty.box@contoso.onmicrosoft.com" }),
      });
      const user = (await response.json()) as { id: string };
      assert.equal(response.status, 201);
      assert.ok(mailboxes(bare.state).has(user.id));
      assert.equal(mailboxes(bare.state).get(user.id).all.length, 0);
    } finally {
      await bare.close();
    }
  });
});

describe("fault scenarios reach Graph", () => {
  test("throttle per user: that user's next calls are 429 with Retry-After, through any app; others are served", async () => {
    const adele = tokenFor(SEEDED.adele.id);
    const adeleOtherApp = tokenFor(SEEDED.adele.id, otherClientId);
    const megan = tokenFor(SEEDED.megan.id);
    const set = await scenario({ action: "throttle", user: SEEDED.adele.email, count: 2, retry_after: 2.5 });
    assert.equal(set.status, 200);
    assert.equal((await graph(megan, "/me/messages?$top=1")).status, 200);
    const first = await inbox(adele);
    assert.equal(first.status, 429);
    assert.equal(first.headers.get("retry-after"), "2.5");
    assert.equal(first.body.error.code, "TooManyRequests");
    assert.equal((await inbox(adeleOtherApp)).status, 429, "the second throttled call, from the other app");
    assert.equal((await inbox(adele)).status, 200, "count exhausted");
  });

  test("throttle per app: every user of that app is throttled; the other app is served", async () => {
    await scenario({ action: "throttle", client_id: otherClientId, count: 2, retry_after: 1 });
    assert.equal((await inbox(tokenFor(SEEDED.adele.id))).status, 200, "seeded app unaffected");
    assert.equal((await inbox(tokenFor(SEEDED.adele.id, otherClientId))).status, 429);
    assert.equal((await inbox(tokenFor(SEEDED.megan.id, otherClientId))).status, 429);
    assert.equal((await inbox(tokenFor(SEEDED.megan.id, otherClientId))).status, 200);
  });

  test("fail per user and per app answer the chosen 5xx with Graph's error body, then normal service", async () => {
    await scenario({ action: "fail", user: SEEDED.megan.email, count: 1, status: 502 });
    await scenario({ action: "fail", client_id: otherClientId, count: 1, status: 500 });
    const megan = await inbox(tokenFor(SEEDED.megan.id));
    assert.equal(megan.status, 502);
    assert.equal(typeof megan.body.error.code, "string");
    assert.ok(megan.body.error.innerError["request-id"]);
    const otherApp = await inbox(tokenFor(SEEDED.adele.id, otherClientId));
    assert.equal(otherApp.status, 500);
    assert.equal(otherApp.body.error.code, "generalException");
    assert.equal((await inbox(tokenFor(SEEDED.megan.id))).status, 200);
    assert.equal((await inbox(tokenFor(SEEDED.adele.id, otherClientId))).status, 200);
    assert.equal((await scenario({ action: "fail", client_id: otherClientId, status: 404 })).status, 400);
  });

  test("a switch for user + client_id applies to that pair only", async () => {
    await scenario({
      action: "fail",
      user: SEEDED.alex.email,
      client_id: otherClientId,
      count: 1,
      status: 503,
    });
    assert.equal((await inbox(tokenFor(SEEDED.alex.id))).status, 200, "same user, other app");
    assert.equal((await inbox(tokenFor(SEEDED.megan.id, otherClientId))).status, 200, "same app, other user");
    assert.equal((await inbox(tokenFor(SEEDED.alex.id, otherClientId))).status, 503);
    assert.equal((await inbox(tokenFor(SEEDED.alex.id, otherClientId))).status, 200);
  });

  test("latency per user and per app delays every call by at least the configured time; clear_faults ends it", async () => {
    const timed = async (token: string): Promise<number> => {
      const started = performance.now();
      assert.equal((await inbox(token)).status, 200);
      return performance.now() - started;
    };
    await scenario({ action: "latency", user: SEEDED.megan.email, ms: 300 });
    assert.ok((await timed(tokenFor(SEEDED.megan.id))) >= 300, "per-user latency");
    await scenario({ action: "latency", client_id: otherClientId, ms: 250 });
    assert.ok((await timed(tokenFor(SEEDED.adele.id, otherClientId))) >= 250, "per-app latency");
    assert.ok((await timed(tokenFor(SEEDED.megan.id, otherClientId))) >= 550, "user and app latency add up");

    await scenario({ action: "clear_faults", user: SEEDED.megan.email });
    assert.equal(sb.state.userFaults.has(SEEDED.megan.id), false);
    assert.equal(sb.state.appFaults.get(otherClientId)?.latencyMs, 250, "the app's switch stays");
    await scenario({ action: "clear_faults" });
    assert.equal(sb.state.userFaults.size + sb.state.appFaults.size + sb.state.pairFaults.size, 0);
  });

  test("send_answer_delay sends at once and answers late: a client that gives up still sent the mail", async () => {
    await scenario({ action: "send_answer_delay", user: SEEDED.megan.email, ms: 1_000 });
    try {
      const token = tokenFor(SEEDED.megan.id);
      const draft = await graph(token, "/me/messages", {
        method: "POST",
        body: JSON.stringify({
          subject: "answered late",
          body: { contentType: "text", content: "x" },
          toRecipients: [{ emailAddress: { address: SEEDED.adele.email } }],
        }),
      });
      assert.equal(draft.status, 201, "only sends are held back");
      const aborted = fetch(`${sb.url}/v1.0/me/messages/${draft.body.id}/send`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(150),
      });
      await assert.rejects(aborted);
      const adele = mailboxes(sb.state).get(SEEDED.adele.id);
      assert.equal(
        adele.all.filter((m) => m.subject === "answered late").length,
        1,
        "delivered before the answer",
      );
      assert.equal(
        mailboxes(sb.state)
          .get(SEEDED.megan.id)
          .all.find((m) => m.subject === "answered late")?.isDraft,
        false,
      );
    } finally {
      await scenario({ action: "clear_faults", user: SEEDED.megan.email });
    }
  });

  test("unknown actions, users and apps are 400, not silently accepted", async () => {
    const unknown = await scenario({ action: "throttel", user: SEEDED.adele.email });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /Known actions: .*subscription_lifecycle/);
    assert.equal((await scenario({ action: "throttle", user: "ghost@x.y" })).status, 400);
    assert.equal((await scenario({ action: "throttle", client_id: randomUUID() })).status, 400);
    assert.equal((await scenario({ action: "latency" })).status, 400);
  });
});

describe("subscription_lifecycle reaches the subscriptions engine", () => {
  let receiver: Server;
  let receiverUrl = "";
  const lifecycle: { path: string; items: Record<string, unknown>[] }[] = [];

  before(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const url = new URL(request.url ?? "/", "http://receiver");
        const token = url.searchParams.get("validationToken");
        if (token !== null) {
          response.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(token);
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          value: Record<string, unknown>[];
        };
        if (url.pathname.startsWith("/lifecycle")) lifecycle.push({ path: url.pathname, items: body.value });
        response.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });

  after(async () => {
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  async function subscribe(token: string, lifecyclePath: string): Promise<string> {
    const created = await graph(token, "/subscriptions", {
      method: "POST",
      body: JSON.stringify({
        changeType: "created",
        notificationUrl: `${receiverUrl}/hook`,
        lifecycleNotificationUrl: `${receiverUrl}${lifecyclePath}`,
        resource: "me/mailFolders('inbox')/messages",
        expirationDateTime: new Date(sb.state.now() + 3 * 24 * 3_600_000).toISOString(),
        clientState: "lifecycle-state",
      }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id as string;
  }

  const received = (path: string) => lifecycle.filter((l) => l.path === path).flatMap((l) => l.items);

  test("a mailbox's throttle and fail switches apply to POST /v1.0/subscriptions, directly and inside $batch", async () => {
    const token = tokenFor(SEEDED.alex.id);
    const subscription = {
      changeType: "created",
      notificationUrl: `${receiverUrl}/hook`,
      resource: "me/messages",
      expirationDateTime: new Date(sb.state.now() + 24 * 3_600_000).toISOString(),
    };
    const direct = () =>
      graph(token, "/subscriptions", { method: "POST", body: JSON.stringify(subscription) });
    const batched = async () => {
      const response = await graph(token, "/$batch", {
        method: "POST",
        body: JSON.stringify({
          requests: [
            {
              id: "1",
              method: "POST",
              url: "/subscriptions",
              headers: { "content-type": "application/json" },
              body: subscription,
            },
          ],
        }),
      });
      assert.equal(response.status, 200);
      return response.body.responses[0];
    };
    const alexSubscriptions = () =>
      [...(subscriptionEngineOf(sb.state)?.subscriptions.values() ?? [])].filter(
        (s) => s.userId === SEEDED.alex.id,
      );

    await scenario({ action: "throttle", user: SEEDED.alex.email, count: 1, retry_after: 7 });
    const throttled = await direct();
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get("retry-after"), "7");
    assert.equal(throttled.body.error.code, "TooManyRequests");

    await scenario({ action: "fail", user: SEEDED.alex.email, count: 1, status: 503 });
    const failed = await direct();
    assert.equal(failed.status, 503);
    assert.equal(failed.body.error.code, "serviceNotAvailable");

    await scenario({ action: "throttle", user: SEEDED.alex.email, count: 1, retry_after: 3 });
    const throttledStep = await batched();
    assert.equal(throttledStep.status, 429);
    assert.equal(throttledStep.headers["Retry-After"], "3");

    await scenario({ action: "fail", user: SEEDED.alex.email, count: 1, status: 502 });
    const failedStep = await batched();
    assert.equal(failedStep.status, 502);
    assert.equal(failedStep.body.error.code, "BadGateway");
    assert.equal(alexSubscriptions().length, 0, "rejected calls create nothing");

    // The switches are spent: both paths create subscriptions again.
    const created = await direct();
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const createdStep = await batched();
    assert.equal(createdStep.status, 201, JSON.stringify(createdStep.body));
    assert.equal(alexSubscriptions().length, 2);
    for (const id of [created.body.id, createdStep.body.id]) {
      assert.equal((await graph(token, `/subscriptions/${id}`, { method: "DELETE" })).status, 204);
    }
  });

  test("missed and reauthorizationRequired are sent to the lifecycle URL of the matching subscription only", async () => {
    const adele = tokenFor(SEEDED.adele.id);
    const megan = tokenFor(SEEDED.megan.id);
    const adeleSub = await subscribe(adele, "/lifecycle-adele");
    const meganSub = await subscribe(megan, "/lifecycle-megan");

    const missed = await scenario({
      action: "subscription_lifecycle",
      event: "missed",
      user: SEEDED.adele.email,
    });
    assert.equal(missed.status, 200);
    assert.deepEqual(missed.body.subscriptions, [{ id: adeleSub, notified: true }]);
    const items = await until("the missed lifecycle notification", () => {
      const all = received("/lifecycle-adele");
      return all.length > 0 && all;
    });
    assert.equal(items[0]!.lifecycleEvent, "missed");
    assert.equal(items[0]!.subscriptionId, adeleSub);
    assert.equal(items[0]!.clientState, "lifecycle-state");

    const reauth = await scenario({
      action: "subscription_lifecycle",
      event: "reauthorizationRequired",
      subscription_id: meganSub,
    });
    assert.equal(reauth.status, 200);
    const meganItems = await until("the reauthorizationRequired lifecycle notification", () => {
      const all = received("/lifecycle-megan");
      return all.length > 0 && all;
    });
    assert.equal(meganItems[0]!.lifecycleEvent, "reauthorizationRequired");
    assert.equal(received("/lifecycle-adele").length, 1, "adele's subscription got nothing more");
  });

  test("subscriptionRemoved (per app) notifies, then the subscription is gone", async () => {
    const token = tokenFor(SEEDED.alex.id, otherClientId);
    const id = await subscribe(token, "/lifecycle-removed");
    const removed = await scenario({
      action: "subscription_lifecycle",
      event: "subscriptionRemoved",
      client_id: otherClientId,
    });
    assert.equal(removed.status, 200);
    assert.deepEqual(
      removed.body.subscriptions.map((s: { id: string }) => s.id),
      [id],
    );
    const items = await until("the subscriptionRemoved lifecycle notification", () => {
      const all = received("/lifecycle-removed");
      return all.length > 0 && all;
    });
    assert.equal(items[0]!.lifecycleEvent, "subscriptionRemoved");
    assert.equal((await graph(token, `/subscriptions/${id}`)).status, 404);
  });

  test("a bad event or an unknown subscription is 400", async () => {
    assert.equal((await scenario({ action: "subscription_lifecycle", event: "expired" })).status, 400);
    assert.equal(
      (await scenario({ action: "subscription_lifecycle", event: "missed", subscription_id: randomUUID() }))
        .status,
      400,
    );
  });
});
