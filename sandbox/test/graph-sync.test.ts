// Delta queries, $batch and Outlook's throttling/fault behaviour.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { until } from "../../test/support/until.ts";
import { FILTERED_DELTA_MAX } from "../src/graph/delta.ts";
import { mailboxes } from "../src/graph/mailbox-store.ts";
import { executeGraphRequest, parseGraphUrl } from "../src/graph/pipeline.ts";
import type { SandboxUser } from "../src/state.ts";
import {
  type GraphHarness,
  type GraphMessage,
  message,
  type Page,
  startGraphHarness,
} from "./graph-helpers.ts";

const IMMUTABLE = 'IdType="ImmutableId"';

type DeltaItem = GraphMessage & { "@removed"?: { reason: string } };

describe("Graph mail: delta, batching, throttling", () => {
  let h: GraphHarness;
  let alice: SandboxUser;
  let token: string;

  before(async () => {
    h = await startGraphHarness();
    alice = h.addUser("alice");
    token = h.token(alice);
    const store = mailboxes(h.sandbox.state).get(alice.id);
    for (let index = 0; index < 23; index++) {
      store.insertMessage(store.wellKnownFolder("inbox").id, {
        subject: `Seed ${index}`,
        receivedAt: Date.parse("2025-01-01T00:00:00Z") + index * 1000,
      });
    }
  });
  after(async () => h.sandbox.close());

  /** Runs one delta round from `start`, returning items and the deltaLink. */
  async function round(
    start: string,
    pageSize = 5,
  ): Promise<{ items: DeltaItem[]; deltaLink: string; pages: number }> {
    const items: DeltaItem[] = [];
    let link: string = start;
    let pages = 0;
    for (;;) {
      const response = await h.call(token, link, { prefer: `${IMMUTABLE}, odata.maxpagesize=${pageSize}` });
      assert.equal(response.status, 200, await response.clone().text());
      const page = (await response.json()) as Page<DeltaItem>;
      pages++;
      items.push(...page.value);
      if (page["@odata.deltaLink"]) return { items, deltaLink: page["@odata.deltaLink"], pages };
      link = page["@odata.nextLink"] ?? "";
      assert.match(link, /\$skiptoken=/);
    }
  }

  test("delta: initial round pages with maxpagesize, then only changes, with @removed for moves and deletes", async () => {
    const first = await round("/me/mailFolders/inbox/messages/delta?$select=subject,isRead");
    assert.equal(first.items.length, 23);
    assert.equal(first.pages, 5);
    assert.equal(new Set(first.items.map((m) => m.id)).size, 23, "no duplicates in a round");
    assert.deepEqual(Object.keys(first.items[0]!).sort(), ["@odata.etag", "id", "isRead", "subject"]);
    assert.match(first.deltaLink, /\$deltatoken=/);

    const empty = await round(first.deltaLink);
    assert.equal(empty.items.length, 0);

    const [a, b, c] = first.items;
    assert.ok(a && b && c);
    await h.json(token, `/me/messages/${a.id}`, { method: "PATCH", body: JSON.stringify({ isRead: true }) });
    await h.json(token, `/me/messages/${b.id}/move`, {
      method: "POST",
      body: JSON.stringify({ destinationId: "archive" }),
    });
    await h.call(token, `/me/messages/${c.id}`, { method: "DELETE" });
    const created = await h.json<GraphMessage>(token, "/me/mailFolders/inbox/messages", {
      method: "POST",
      body: JSON.stringify(message("New in inbox", ["x@partner.example"])),
      prefer: IMMUTABLE,
    });

    const second = await round(empty.deltaLink);
    const byId = new Map(second.items.map((item) => [item.id, item]));
    assert.equal(second.items.length, 4);
    assert.equal(byId.get(a.id)?.isRead, true);
    assert.deepEqual(byId.get(b.id)?.["@removed"], { reason: "deleted" });
    assert.deepEqual(byId.get(c.id)?.["@removed"], { reason: "deleted" });
    assert.equal(byId.get(created.id)?.subject, "New in inbox");
  });

  test("delta is exact when changes happen while a round is being paged", async () => {
    const start = await round("/me/mailFolders/inbox/messages/delta");
    const store = mailboxes(h.sandbox.state).get(alice.id);
    const inbox = store.wellKnownFolder("inbox");
    // Begin a round, take one page, then change items both already returned and not yet returned.
    for (let index = 0; index < 12; index++) store.insertMessage(inbox.id, { subject: `Batch ${index}` });
    const firstPage = (await (
      await h.call(token, start.deltaLink, { prefer: `${IMMUTABLE}, odata.maxpagesize=4` })
    ).json()) as Page<DeltaItem>;
    assert.equal(firstPage.value.length, 4);
    const returned = firstPage.value[0]!;
    const pendingSubject = "Batch 11";
    const pending = inbox.messages.find(
      (m) => m.subject === pendingSubject && !firstPage.value.some((v) => v.subject === pendingSubject),
    );
    assert.ok(pending);
    const returnedRecord = store.resolveMessage(returned.id)!;
    store.updateMessage(returnedRecord, (m) => {
      m.isRead = true;
    });
    store.updateMessage(pending, (m) => {
      m.isRead = true;
    });
    const extra = store.insertMessage(inbox.id, { subject: "Arrived mid-round" });

    const rest = await round(firstPage["@odata.nextLink"]!, 4);
    const thisRound = [...firstPage.value, ...rest.items];
    const ids = thisRound.map((item) => item.id);
    assert.equal(new Set(ids).size, ids.length, "no duplicates within the round");
    const next = await round(rest.deltaLink, 50);
    const union = new Set([...ids, ...next.items.map((item) => item.id)]);
    for (let index = 0; index < 12; index++) {
      const record = inbox.messages.find((m) => m.subject === `Batch ${index}`)!;
      assert.ok(union.has(record.immutableId), `Batch ${index} seen`);
    }
    assert.ok(
      next.items.some((item) => item.id === returnedRecord.immutableId && item.isRead === true),
      "changed-after-return shows in next round",
    );
    assert.ok(union.has(pending.immutableId));
    assert.ok(
      next.items.some((item) => item.id === extra.immutableId),
      "mid-round arrival shows in next round",
    );
  });

  test("delta with $filter=receivedDateTime ge: the snapshot holds only recent mail (at most 5,000, the newest), and later rounds keep the filter", async () => {
    const store = mailboxes(h.sandbox.state).get(alice.id);
    const folder = store.createFolder(store.wellKnownFolder("msgfolderroot").id, "Window test");
    const since = Date.parse("2026-03-01T00:00:00Z");
    const old = store.insertMessage(folder.id, { subject: "Old", receivedAt: since - 86_400_000 });
    for (let index = 0; index < FILTERED_DELTA_MAX + 10; index++)
      store.insertMessage(folder.id, { subject: `Recent ${index}`, receivedAt: since + index * 1000 });
    const path = `/me/mailFolders/${folder.id}/messages/delta?$select=subject,receivedDateTime&$filter=receivedDateTime ge 2026-03-01T00:00:00Z`;
    const first = await round(path, 1000);
    assert.equal(first.items.length, FILTERED_DELTA_MAX, "capped at 5,000");
    assert.ok(!first.items.some((m) => m.subject === "Old"));
    assert.ok(
      !first.items.some((m) => m.subject === "Recent 0"),
      "the oldest mail beyond the cap is left out",
    );
    assert.ok(first.items.some((m) => m.subject === `Recent ${FILTERED_DELTA_MAX + 9}`));
    store.updateMessage(old, (m) => {
      m.isRead = true;
    });
    store.insertMessage(folder.id, { subject: "Newest", receivedAt: since + 10_000_000 });
    const next = await round(first.deltaLink);
    assert.deepEqual(
      next.items.map((m) => m.subject),
      ["Newest"],
      "a change to mail before the filter is not reported",
    );
    const bad = await h.call(token, `/me/mailFolders/${folder.id}/messages/delta?$filter=subject eq 'x'`, {
      prefer: IMMUTABLE,
    });
    assert.equal(bad.status, 400);
  });

  test("a stale or unknown delta token is 410 SyncStateNotFound", async () => {
    const start = await round("/me/mailFolders/inbox/messages/delta");
    const bogus = await h.call(token, "/me/mailFolders/inbox/messages/delta?$deltatoken=garbage");
    assert.equal(bogus.status, 410);
    const body = (await bogus.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "SyncStateNotFound");
    assert.match(body.error.message, /^The sync state generation is not found; generation=/);
    const expire = await fetch(`${h.sandbox.url}/_sandbox/mailboxes/${alice.email}/expire-delta-tokens`, {
      method: "POST",
    });
    assert.equal(expire.status, 204);
    assert.equal((await h.call(token, start.deltaLink)).status, 410);
    const fresh = await round("/me/mailFolders/inbox/messages/delta");
    assert.ok(fresh.items.length > 0);
  });

  test("$batch: relative urls, per-request status/headers/body, dependsOn and 424 for failed dependencies", async () => {
    const response = await h.call(token, "/$batch", {
      method: "POST",
      body: JSON.stringify({
        requests: [
          { id: "1", method: "GET", url: "/me/messages?$top=2&$select=subject" },
          { id: "2", method: "GET", url: "/me/messages/abc" },
          { id: "3", method: "GET", url: "/me/mailFolders/inbox", dependsOn: ["2"] },
          {
            id: "4",
            method: "POST",
            url: "/me/mailFolders",
            headers: { "Content-Type": "application/json" },
            body: { displayName: "Batched" },
            dependsOn: ["1"],
          },
          { id: "5", method: "GET", url: "me" },
        ],
      }),
    });
    assert.equal(response.status, 200);
    const { responses } = (await response.json()) as {
      responses: {
        id: string;
        status: number;
        headers: Record<string, string>;
        body: Record<string, unknown>;
      }[];
    };
    const byId = new Map(responses.map((entry) => [entry.id, entry]));
    assert.equal(byId.get("1")?.status, 200);
    assert.equal((byId.get("1")!.body.value as unknown[]).length, 2);
    assert.equal(byId.get("2")?.status, 400);
    assert.equal(byId.get("3")?.status, 424);
    assert.equal(byId.get("4")?.status, 201);
    assert.equal(byId.get("4")?.body.displayName, "Batched");
    assert.equal(byId.get("5")?.body.userPrincipalName, alice.email);
    assert.match(byId.get("1")?.headers["Content-Type"] ?? "", /application\/json/);
  });

  test("$batch rejects more than 20 requests, duplicate ids and bodies without Content-Type", async () => {
    const tooMany = Array.from({ length: 21 }, (_, index) => ({
      id: String(index),
      method: "GET",
      url: "/me",
    }));
    assert.equal(
      (await h.call(token, "/$batch", { method: "POST", body: JSON.stringify({ requests: tooMany }) }))
        .status,
      400,
    );
    const dup = [
      { id: "1", method: "GET", url: "/me" },
      { id: "1", method: "GET", url: "/me" },
    ];
    assert.equal(
      (await h.call(token, "/$batch", { method: "POST", body: JSON.stringify({ requests: dup }) })).status,
      400,
    );
    const noType = [{ id: "1", method: "POST", url: "/me/mailFolders", body: { displayName: "x" } }];
    assert.equal(
      (await h.call(token, "/$batch", { method: "POST", body: JSON.stringify({ requests: noType }) })).status,
      400,
    );
  });

  test("each batch step counts toward the mailbox's request counter", async () => {
    const key = `${h.clientId}|${alice.id}`;
    const before = h.sandbox.state.counters.requests.get(key) ?? 0;
    const requests = Array.from({ length: 6 }, (_, index) => ({
      id: String(index),
      method: "GET",
      url: "/me/mailFolders/inbox",
    }));
    await h.json(token, "/$batch", { method: "POST", body: JSON.stringify({ requests }) });
    assert.equal((h.sandbox.state.counters.requests.get(key) ?? 0) - before, 6);
  });

  test("10 parallel requests with latency: peak concurrency 10 recorded, the 5th+ get 429 MailboxConcurrency", async () => {
    const carol = h.addUser("carol");
    const carolToken = h.token(carol);
    h.sandbox.state.userFaults.set(carol.id, { latencyMs: 150 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => h.call(carolToken, "/me/mailFolders/inbox")),
      );
      const statuses = responses.map((response) => response.status);
      assert.equal(statuses.filter((status) => status === 200).length, 4);
      assert.equal(statuses.filter((status) => status === 429).length, 6);
      const throttled = responses.find((response) => response.status === 429)!;
      assert.ok(throttled.headers.get("retry-after"));
      const body = (await throttled.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "ApplicationThrottled");
      assert.equal(body.error.message, "Application is over its MailboxConcurrency limit.");
      const key = `${h.clientId}|${carol.id}`;
      assert.equal(h.sandbox.state.counters.peakConcurrency.get(key), 10);
      assert.equal(h.sandbox.state.counters.throttled.get(key), 6);
      await until("in-flight to drain", () => h.sandbox.state.counters.inFlight.get(key) === 0);
    } finally {
      h.sandbox.state.userFaults.delete(carol.id);
    }
  });

  test("fault switches: throttleNext with fractional Retry-After, failNext 503, then normal service", async () => {
    h.sandbox.state.userFaults.set(alice.id, {
      throttleNext: { count: 1, retryAfterSeconds: 2.128 },
      failNext: { count: 1, status: 503 },
    });
    const throttled = await h.call(token, "/me/messages?$top=1");
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get("retry-after"), "2.128");
    assert.equal(((await throttled.json()) as { error: { code: string } }).error.code, "TooManyRequests");
    const failed = await h.call(token, "/me/messages?$top=1");
    assert.equal(failed.status, 503);
    assert.equal((await h.call(token, "/me/messages?$top=1")).status, 200);
  });

  test("10,000 requests per 10 minutes per app+mailbox, then 429 until the window slides", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const state = h.sandbox.state as { now: () => number };
    const realNow = state.now;
    (state as { now: () => number }).now = () => now;
    try {
      const dave = h.addUser("dave");
      const daveToken = h.token(dave, undefined);
      // Fill the window in-process through the same pipeline HTTP requests use (fast, sequential).
      const batch = async (count: number): Promise<number[]> => {
        const statuses: number[] = [];
        for (let done = 0; done < count; done++) {
          const response = await executeGraphRequest(h.sandbox.state, {
            method: "GET",
            ...parseGraphUrl("/me/mailFolders/inbox?$select=id"),
            headers: { authorization: `Bearer ${daveToken}` },
            body: null,
          });
          statuses.push(response.status);
        }
        return statuses;
      };
      const first = await batch(10_000);
      assert.ok(first.every((status) => status === 200));
      const over = await h.call(daveToken, "/me/mailFolders/inbox");
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers.get("retry-after")) > 0);
      // The admin reset empties the window of that mailbox only (a load test's switch).
      const reset = await fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "reset_request_windows", user: dave.email }),
      });
      assert.equal(reset.status, 200);
      assert.equal(((await reset.json()) as { reset: number }).reset, 1);
      assert.equal((await h.call(daveToken, "/me/mailFolders/inbox")).status, 200);
      await batch(9_999);
      assert.equal((await h.call(daveToken, "/me/mailFolders/inbox")).status, 429);
      now += 10 * 60 * 1000 + 1;
      assert.equal((await h.call(daveToken, "/me/mailFolders/inbox")).status, 200);
    } finally {
      (state as { now: () => number }).now = realNow;
    }
  });
});
