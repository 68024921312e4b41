import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { until } from "../../test/support/until.ts";
import { registerGraphRoutes } from "../src/graph/routes.ts";
import { type SandboxOptions, SandboxState } from "../src/state.ts";
import { registerSubscriptionRoutes, subscriptionEngineOf } from "../src/subscriptions/routes.ts";

// ---- a receiver the sandbox notifies -------------------------------------------------------------

interface Received {
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: string;
}

type Behaviour = (request: Received, response: ServerResponse) => void;

class Receiver {
  readonly requests: Received[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private server: Server | null = null;
  url = "";

  on(path: string, behaviour: Behaviour): string {
    this.behaviours.set(path, behaviour);
    return `${this.url}${path}`;
  }

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const url = new URL(request.url ?? "/", "http://receiver");
        const received: Received = {
          path: url.pathname,
          query: url.searchParams,
          contentType: request.headers["content-type"],
          body: Buffer.concat(chunks).toString("utf8"),
        };
        this.requests.push(received);
        const behaviour = this.behaviours.get(url.pathname) ?? echoThenAccept;
        behaviour(received, response);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  notifications(path: string): { value: Record<string, unknown>[] }[] {
    return this.requests
      .filter((r) => r.path === path && !r.query.has("validationToken"))
      .map((r) => JSON.parse(r.body) as { value: Record<string, unknown>[] });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** What a correct receiver does: echo the validation token as text/plain, accept notifications with 202. */
const echoThenAccept: Behaviour = (request, response) => {
  const token = request.query.get("validationToken");
  if (token !== null) {
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(token);
    return;
  }
  response.writeHead(202).end();
};

// ---- a sandbox with one user, one app and tokens -------------------------------------------------

const TENANT_ID = "6babcaad-604b-40ac-a9d7-9fd97c0b779f";
const USER_ID = "b3c1a1de-8f58-4a5e-9d0b-2f6a0c1e7a11";
const OTHER_USER_ID = "1f0ad7e4-9d7b-4f5e-8a57-3c2c7e5b9d22";
const CLIENT_ID = "0a7c7a3e-5d5f-4b7e-9a1c-8e6f3b2d1c00";
const OTHER_CLIENT_ID = "9f2b6c4d-3e1a-4c5b-8d7e-6f5a4b3c2d11";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type GraphJson = any;

interface Harness {
  app: FastifyInstance;
  state: SandboxState;
  clock: { now: number };
  base: string;
  token: string;
  otherAppToken: string;
  request(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; json: GraphJson }>;
  close(): Promise<void>;
}

async function harness(options: Partial<SandboxOptions> = {}): Promise<Harness> {
  const clock = { now: Date.parse("2026-03-02T09:00:00Z") };
  const state = new SandboxState({
    baseUrl: "http://127.0.0.1",
    now: () => clock.now,
    allowHttpNotifications: true,
    seedCorpus: false,
    subscriptions: {
      validationTimeoutMs: 400,
      notificationTimeoutMs: 400,
      retryBaseMs: 50,
      retryWindowMs: 5_000,
      batchWindowMs: 60,
      sweepIntervalMs: 40,
      reauthorizationLeadMs: 10 * 60_000,
    },
    ...options,
  });
  const user = (id: string, email: string) => ({
    id,
    tenantId: TENANT_ID,
    email,
    password: "x",
    displayName: email,
    givenName: "Test",
    surname: "User",
    kind: "work" as const,
    hasMailbox: true,
    isTenantAdmin: false,
    passwordChangedAt: 0,
    disabled: false,
  });
  state.users.set(USER_ID, user(USER_ID, "adele@contoso.example"));
  state.users.set(OTHER_USER_ID, user(OTHER_USER_ID, "megan@contoso.example"));
  for (const clientId of [CLIENT_ID, OTHER_CLIENT_ID]) {
    state.apps.set(clientId, {
      clientId,
      name: clientId,
      redirectUris: [],
      signInAudience: "AzureADandPersonalMicrosoftAccount",
      permissions: ["Mail.Read"],
      secrets: [],
      homeTenantId: TENANT_ID,
      createdAt: 0,
    });
  }
  const issue = (userId: string, clientId: string, scopes = ["Mail.ReadWrite", "User.Read"]) => {
    const token = `eyJ0eXAiOiJKV1QifQ.${randomUUID()}.sig`;
    state.accessTokens.set(token, {
      token,
      userId,
      clientId,
      scopes,
      expiresAt: clock.now + 3_600_000,
      revoked: false,
    });
    return token;
  };
  const token = issue(USER_ID, CLIENT_ID);
  const otherAppToken = issue(USER_ID, OTHER_CLIENT_ID);
  const app = Fastify();
  // /v1.0/subscriptions is served by the Graph pipeline, like every Graph resource.
  await registerGraphRoutes(app, state);
  await registerSubscriptionRoutes(app, state);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    state,
    clock,
    base,
    token,
    otherAppToken,
    async request(method, path, body, bearer = token) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : null };
    },
    async close() {
      state.events.emit("close");
      await app.close();
    },
  };
}

const inMinutes = (h: Harness, minutes: number) => new Date(h.clock.now + minutes * 60_000).toISOString();

// ---- tests ---------------------------------------------------------------------------------------

describe("Graph change-notification subscriptions", () => {
  const receiver = new Receiver();
  let h: Harness;
  before(async () => {
    await receiver.start();
    h = await harness();
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  const create = (overrides: Record<string, unknown> = {}, token?: string) =>
    h.request(
      "POST",
      "/v1.0/subscriptions",
      {
        changeType: "created,updated,deleted",
        notificationUrl: `${receiver.url}/hook`,
        resource: "me/messages",
        expirationDateTime: inMinutes(h, 4_000),
        clientState: "secret-client-state",
        latestSupportedTlsVersion: "v1_2",
        ...overrides,
      },
      token,
    );

  test("creation runs the validation handshake and answers 201 with the subscription resource", async () => {
    const before = receiver.requests.length;
    const { status, json } = await create({ notificationUrl: `${receiver.url}/hook?tenant=a b` });
    assert.equal(status, 201);
    const validation = receiver.requests.slice(before).find((r) => r.query.has("validationToken"));
    assert.ok(validation, "the notification URL got a validation request");
    assert.match(validation.contentType ?? "", /^text\/plain/);
    assert.equal(validation.body, "");
    assert.equal(validation.query.get("tenant"), "a b", "query strings in notificationUrl are preserved");
    assert.match(
      validation.query.get("validationToken") ?? "",
      /^Validation: Testing client application reachability/,
    );
    assert.match(json.id, /^[0-9a-f-]{36}$/);
    assert.equal(json.resource, "me/messages");
    assert.equal(json.applicationId, CLIENT_ID);
    assert.equal(json.creatorId, USER_ID);
    assert.equal(json.changeType, "created,updated,deleted");
    assert.equal(json.clientState, "secret-client-state");
    assert.equal(json.latestSupportedTlsVersion, "v1_2");
    assert.equal(json.lifecycleNotificationUrl, null);
    assert.match(json.expirationDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);

    const list = await h.request("GET", "/v1.0/subscriptions");
    assert.ok(list.json.value.some((s: { id: string }) => s.id === json.id));
    const one = await h.request("GET", `/v1.0/subscriptions/${json.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.id, json.id);
  });

  test("a wrong echo fails the handshake with 400 ValidationError and stores nothing", async () => {
    const url = receiver.on("/wrong-echo", (_r, response) => {
      response.writeHead(200, { "content-type": "text/plain" }).end("not the token");
    });
    const count = subscriptionEngineOf(h.state)!.subscriptions.size;
    const { status, json } = await create({ notificationUrl: url });
    assert.equal(status, 400);
    assert.equal(json.error.code, "ValidationError");
    assert.equal(
      json.error.message,
      "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
    );
    assert.equal(subscriptionEngineOf(h.state)!.subscriptions.size, count);
  });

  test("a handshake without an answer in time fails with 'timed out'", async () => {
    const url = receiver.on("/never", () => {
      // never answers; the sandbox's validation deadline (400 ms in this test) must fire
    });
    const { status, json } = await create({ notificationUrl: url });
    assert.equal(status, 400);
    assert.equal(json.error.code, "ValidationError");
    assert.equal(json.error.message, "Subscription validation request timed out.");
  });

  test("the lifecycle URL is validated too", async () => {
    const url = receiver.on("/lifecycle-broken", (_r, response) => {
      response.writeHead(500).end();
    });
    const { status } = await create({ lifecycleNotificationUrl: url });
    assert.equal(status, 400);
  });

  test("expiry is capped at 10,080 minutes and must be in the future", async () => {
    const tooLong = await create({ expirationDateTime: inMinutes(h, 10_081) });
    assert.equal(tooLong.status, 400);
    assert.equal(
      tooLong.json.error.message,
      "Subscription expiration can only be 10080 minutes in the future.",
    );
    const past = await create({ expirationDateTime: inMinutes(h, -1) });
    assert.equal(past.status, 400);
    const max = await create({ expirationDateTime: inMinutes(h, 10_080) });
    assert.equal(max.status, 201);
  });

  test("bad input gets Graph's 4xx: missing fields, clientState over 128 chars, unsupported resource, foreign mailbox, no token", async () => {
    const missing = await h.request("POST", "/v1.0/subscriptions", { changeType: "created" });
    assert.equal(missing.status, 400);
    assert.match(missing.json.error.message, /is a required property for subscription creation/);
    assert.equal((await create({ clientState: "x".repeat(129) })).status, 400);
    assert.equal((await create({ changeType: "created,moved" })).status, 400);
    assert.equal((await create({ resource: "me/events" })).status, 400);
    assert.equal((await create({ resource: `users/${OTHER_USER_ID}/messages` })).status, 403);
    assert.equal((await create({ resource: `users/${USER_ID}/messages` })).status, 201);
    assert.equal(
      (await create({ resource: "/users/adele@contoso.example/mailFolders('Inbox')/messages" })).status,
      201,
    );
    const anonymous = await h.request("POST", "/v1.0/subscriptions", {}, "");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.error.code, "InvalidAuthenticationToken");
  });

  test("https is required unless allowHttpNotifications is set", async () => {
    const strict = await harness({ allowHttpNotifications: false });
    try {
      const response = await strict.request("POST", "/v1.0/subscriptions", {
        changeType: "created",
        notificationUrl: `${receiver.url}/hook`,
        resource: "me/messages",
        expirationDateTime: inMinutes(strict, 60),
      });
      assert.equal(response.status, 400);
      assert.equal(response.json.error.code, "ValidationError");
    } finally {
      await strict.close();
    }
  });

  test("mail changes are POSTed with Microsoft's payload, several changes batched into one POST", async () => {
    const url = receiver.on("/batch", echoThenAccept);
    const { json: subscription } = await create({
      notificationUrl: url,
      changeType: "created,updated,deleted",
    });
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "created",
      messageId: "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAA=",
      folderId: "inbox-id",
    });
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "updated",
      messageId: "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAB=",
      folderId: "inbox-id",
    });
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "deleted",
      messageId: "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAC=",
      folderId: "inbox-id",
    });
    h.state.emitMailChange({
      userId: OTHER_USER_ID,
      changeType: "created",
      messageId: "other",
      folderId: "inbox-id",
    });
    const posts = await until("three notifications", () => {
      const all = receiver.notifications("/batch");
      return all.flatMap((p) => p.value).length >= 3 && all;
    });
    assert.equal(posts.length, 1, "changes arriving together share one POST");
    const items = posts[0]!.value;
    assert.deepEqual(
      items.map((i) => i.changeType),
      ["created", "updated", "deleted"],
    );
    const first = items[0]!;
    assert.deepEqual(Object.keys(first).sort(), [
      "changeType",
      "clientState",
      "id",
      "resource",
      "resourceData",
      "subscriptionExpirationDateTime",
      "subscriptionId",
      "tenantId",
    ]);
    assert.equal(first.subscriptionId, subscription.id);
    assert.equal(new Set(items.map((i) => i.id)).size, 3, "every notification has its own id");
    assert.equal(first.subscriptionExpirationDateTime, subscription.expirationDateTime);
    assert.equal(first.clientState, "secret-client-state");
    assert.equal(first.tenantId, TENANT_ID);
    assert.equal(first.resource, `Users/${USER_ID}/Messages/AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAA=`);
    const data = first.resourceData as Record<string, string>;
    assert.equal(data["@odata.type"], "#Microsoft.Graph.Message");
    assert.equal(data["@odata.id"], first.resource);
    assert.match(data["@odata.etag"]!, /^W\/"[^"]+"$/);
    assert.equal(data.id, "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAA=");
    assert.ok(!items.some((i) => String(i.resource).includes("other")), "other mailboxes are not notified");
  });

  test('notifications carry REST ids unless the subscription was created with Prefer: IdType="ImmutableId"', async () => {
    const restUrl = receiver.on("/ids-rest", echoThenAccept);
    const immutableUrl = receiver.on("/ids-immutable", echoThenAccept);
    await create({ notificationUrl: restUrl, changeType: "updated" });
    const response = await fetch(`${h.base}/v1.0/subscriptions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${h.token}`,
        "content-type": "application/json",
        prefer: 'IdType="ImmutableId"',
      },
      body: JSON.stringify({
        changeType: "updated",
        notificationUrl: immutableUrl,
        resource: "me/messages",
        expirationDateTime: inMinutes(h, 60),
      }),
    });
    assert.equal(response.status, 201);
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "updated",
      messageId: "AAkALgImmutable=",
      restId: "AAMkAGRest=",
      folderId: "inbox-id",
    });
    const [rest] = await until("the REST-id notification", () => {
      const items = receiver.notifications("/ids-rest").flatMap((p) => p.value);
      return items.length > 0 && items;
    });
    const [immutable] = await until("the immutable-id notification", () => {
      const items = receiver.notifications("/ids-immutable").flatMap((p) => p.value);
      return items.length > 0 && items;
    });
    assert.equal(rest!.resource, `Users/${USER_ID}/Messages/AAMkAGRest=`);
    assert.equal((rest!.resourceData as Record<string, string>).id, "AAMkAGRest=");
    assert.equal(immutable!.resource, `Users/${USER_ID}/Messages/AAkALgImmutable=`);
    assert.equal((immutable!.resourceData as Record<string, string>).id, "AAkALgImmutable=");
  });

  test("only the subscribed change types and folder are notified", async () => {
    h.state.resolveMailFolderId = (_userId, ref) => (ref.toLowerCase() === "inbox" ? "inbox-id" : undefined);
    const url = receiver.on("/inbox-created", echoThenAccept);
    await create({
      notificationUrl: url,
      changeType: "created",
      resource: "me/mailFolders('Inbox')/messages",
    });
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "updated",
      messageId: "m-updated",
      folderId: "inbox-id",
    });
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "created",
      messageId: "m-archive",
      folderId: "archive-id",
    });
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "created",
      messageId: "m-inbox",
      folderId: "inbox-id",
    });
    // A second matching change after the others: once it has arrived, anything wrongly notified would have too.
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "created",
      messageId: "m-inbox-2",
      folderId: "inbox-id",
    });
    const items = await until("the inbox notifications", () => {
      const all = receiver.notifications("/inbox-created").flatMap((p) => p.value);
      return all.some((i) => (i.resourceData as { id: string }).id === "m-inbox-2") && all;
    });
    assert.deepEqual(items.map((i) => (i.resourceData as { id: string }).id).sort(), [
      "m-inbox",
      "m-inbox-2",
    ]);
    assert.equal(items[0]!.changeType, "created");
  });

  test("a failing or slow receiver is retried with backoff until it answers 2xx, and attempts are recorded", async () => {
    let calls = 0;
    const url = receiver.on("/flaky", (request, response) => {
      if (request.query.has("validationToken")) return echoThenAccept(request, response);
      calls++;
      if (calls === 1) return void response.writeHead(500).end();
      if (calls === 2) return; // no answer: the 400 ms notification deadline must fire
      response.writeHead(202).end();
    });
    const { json: subscription } = await create({ notificationUrl: url });
    h.state.emitMailChange({
      userId: USER_ID,
      changeType: "created",
      messageId: "m-retry",
      folderId: "inbox-id",
    });
    const engine = subscriptionEngineOf(h.state)!;
    const attempts = await until("a successful retry", () => {
      const mine = engine.attempts.filter(
        (a) => a.kind === "notification" && a.subscriptionIds.includes(subscription.id),
      );
      return mine.some((a) => a.ok) && mine;
    });
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.outcome]),
      [
        [1, "retry-scheduled"],
        [2, "retry-scheduled"],
        [3, "delivered"],
      ],
    );
    assert.equal(attempts[0]!.status, 500);
    assert.match(attempts[1]!.error ?? "", /no response within 400 ms/);
    const admin = (await (await fetch(`${h.base}/_sandbox/subscriptions`)).json()) as {
      subscriptions: { id: string }[];
      deliveries: { subscriptionIds: string[] }[];
    };
    assert.ok(admin.subscriptions.some((s) => s.id === subscription.id));
    assert.ok(admin.deliveries.filter((d) => d.subscriptionIds.includes(subscription.id)).length >= 3);
  });

  test("a receiver that never recovers is given up on after the retry window", async () => {
    const quick = await harness({
      subscriptions: {
        retryBaseMs: 30,
        retryWindowMs: 200,
        batchWindowMs: 10,
        notificationTimeoutMs: 200,
        validationTimeoutMs: 400,
      },
    });
    try {
      const url = receiver.on("/down", (request, response) => {
        if (request.query.has("validationToken")) return echoThenAccept(request, response);
        response.writeHead(503).end();
      });
      const created = await quick.request("POST", "/v1.0/subscriptions", {
        changeType: "created",
        notificationUrl: url,
        resource: "me/messages",
        expirationDateTime: inMinutes(quick, 60),
      });
      assert.equal(created.status, 201);
      quick.state.emitMailChange({
        userId: USER_ID,
        changeType: "created",
        messageId: "m-down",
        folderId: "inbox-id",
      });
      const engine = subscriptionEngineOf(quick.state)!;
      const dropped = await until("the delivery to be dropped", () =>
        engine.attempts.find((a) => a.outcome === "dropped"),
      );
      assert.ok(
        dropped.attempt >= 2 && dropped.attempt <= 4,
        `attempts before giving up: ${dropped.attempt}`,
      );
    } finally {
      await quick.close();
    }
  });

  test("PATCH renews, DELETE removes, unknown or expired ids are 404 ResourceNotFound, other apps see nothing", async () => {
    const { json: subscription } = await create({ expirationDateTime: inMinutes(h, 60) });
    const renewed = await h.request("PATCH", `/v1.0/subscriptions/${subscription.id}`, {
      expirationDateTime: inMinutes(h, 5_000),
    });
    assert.equal(renewed.status, 200);
    assert.equal(Date.parse(renewed.json.expirationDateTime), Date.parse(inMinutes(h, 5_000)));
    const overCap = await h.request("PATCH", `/v1.0/subscriptions/${subscription.id}`, {
      expirationDateTime: inMinutes(h, 20_000),
    });
    assert.equal(overCap.status, 400);

    const foreign = await h.request(
      "GET",
      `/v1.0/subscriptions/${subscription.id}`,
      undefined,
      h.otherAppToken,
    );
    assert.equal(foreign.status, 404);
    const foreignList = await h.request("GET", "/v1.0/subscriptions", undefined, h.otherAppToken);
    assert.deepEqual(foreignList.json.value, []);

    assert.equal((await h.request("DELETE", `/v1.0/subscriptions/${subscription.id}`)).status, 204);
    const gone = await h.request("PATCH", `/v1.0/subscriptions/${subscription.id}`, {
      expirationDateTime: inMinutes(h, 60),
    });
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error.code, "ResourceNotFound");
    assert.equal(gone.json.error.message, "The object was not found.");
    assert.equal((await h.request("GET", `/v1.0/subscriptions/${randomUUID()}`)).status, 404);

    const { json: shortLived } = await create({ expirationDateTime: inMinutes(h, 30) });
    h.clock.now += 31 * 60_000;
    try {
      assert.equal((await h.request("GET", `/v1.0/subscriptions/${shortLived.id}`)).status, 404);
    } finally {
      h.clock.now -= 31 * 60_000;
    }
  });

  test("lifecycle events reach lifecycleNotificationUrl; subscriptionRemoved deletes the subscription", async () => {
    const lifecycle = receiver.on("/lifecycle", echoThenAccept);
    const { json: subscription } = await create({ lifecycleNotificationUrl: lifecycle });
    for (const event of ["reauthorizationRequired", "missed", "subscriptionRemoved"]) {
      h.state.events.emit("scenario", {
        action: "subscription_lifecycle",
        subscription_id: subscription.id,
        event,
      });
    }
    const items = await until("three lifecycle notifications", () => {
      const all = receiver.notifications("/lifecycle").flatMap((p) => p.value);
      return all.length >= 3 && all;
    });
    assert.deepEqual(items.map((i) => i.lifecycleEvent).sort(), [
      "missed",
      "reauthorizationRequired",
      "subscriptionRemoved",
    ]);
    for (const item of items) {
      assert.equal(item.subscriptionId, subscription.id);
      assert.equal(item.clientState, "secret-client-state");
      assert.equal(item.tenantId, TENANT_ID);
      assert.equal(item.subscriptionExpirationDateTime, subscription.expirationDateTime);
    }
    const renew = await h.request("PATCH", `/v1.0/subscriptions/${subscription.id}`, {
      expirationDateTime: inMinutes(h, 60),
    });
    assert.equal(renew.status, 404);
  });

  test("reauthorizationRequired is sent automatically near expiry and when the user's tokens are revoked", async () => {
    const nearPath = "/lifecycle-near";
    const revokedPath = "/lifecycle-revoked";
    receiver.on(nearPath, echoThenAccept);
    receiver.on(revokedPath, echoThenAccept);
    const { json: near } = await create({
      lifecycleNotificationUrl: `${receiver.url}${nearPath}`,
      expirationDateTime: inMinutes(h, 5),
    });
    const nearItems = await until("reauthorizationRequired near expiry", () => {
      const all = receiver.notifications(nearPath).flatMap((p) => p.value);
      return all.length > 0 && all;
    });
    assert.equal(nearItems[0]!.lifecycleEvent, "reauthorizationRequired");
    assert.equal(nearItems[0]!.subscriptionId, near.id);

    const { json: revokedSub } = await create(
      { lifecycleNotificationUrl: `${receiver.url}${revokedPath}` },
      h.otherAppToken,
    );
    for (const record of h.state.accessTokens.values())
      if (record.clientId === OTHER_CLIENT_ID) record.revoked = true;
    const revokedItems = await until("reauthorizationRequired after revocation", () => {
      const all = receiver.notifications(revokedPath).flatMap((p) => p.value);
      return all.length > 0 && all;
    });
    assert.equal(revokedItems[0]!.lifecycleEvent, "reauthorizationRequired");
    assert.equal(revokedItems[0]!.subscriptionId, revokedSub.id);
  });
});
