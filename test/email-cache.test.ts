// The email cache (docs/adr/0008-email-cache.md): a cached read answers the same bytes as an uncached
// one; with EMAIL_CACHE_REVALIDATE=each a change made in Graph behind Mailroom's back is on the next
// read, with on-change (the default) once realtime has seen it, and without asking Graph while nothing
// has changed; memory stays within the bound. Against the sandbox over HTTP with real SQLite.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Fastify from "fastify";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import type { EmailObject } from "../src/domain/email/email.types.ts";
import { EmailCache, estimateBytes } from "../src/domain/email/email-cache.ts";
import { decodeProviderId } from "../src/domain/email/email-ids.ts";
import { EmailListSchema, EmailSchema } from "../src/http/schemas/email.schema.ts";
import { ShiftedClock } from "./support/clock.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { waitForBaseline } from "./support/realtime.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";

type EmailList = { items: (EmailObject & { subject: string })[]; cursor: string | null };

/** What Fastify's schema serializer answers for `body` (the bytes the routes gave before the cache). */
async function schemaBytes(schema: object, body: unknown): Promise<string> {
  const app = Fastify();
  app.get("/", { schema: { response: { 200: schema } } }, async () => body);
  try {
    return (await app.inject({ method: "GET", url: "/" })).body;
  } finally {
    await app.close();
  }
}

/** Graph requests the sandbox has answered for one of its users. */
async function graphRequests(h: ConnectHarness, email: string): Promise<number> {
  const stats = (await (await fetch(`${h.sandbox.url}/_sandbox/stats`)).json()) as {
    requests: Record<string, number>;
  };
  const userId = h.sandbox.state.userByEmail(email)!.id;
  return Object.entries(stats.requests).find(([key]) => key.endsWith(`|${userId}`))?.[1] ?? 0;
}

describe("email cache (EMAIL_CACHE_REVALIDATE=each)", () => {
  let h: ConnectHarness;
  let adeleId: string;
  const text = async (path: string) => {
    const res = await fetch(`${h.baseUrl}${path}`, { headers: { "x-api-key": h.t.apiKey } });
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    return res.text();
  };
  const metric = async (name: string) => {
    const body = await (await fetch(`${h.baseUrl}/metrics`)).text();
    const line = body.split("\n").find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} in /metrics`);
    return Number(line.split(" ")[1]);
  };
  const store = () => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);

  before(async () => {
    h = await startConnectHarness("sqlite", {
      seedCorpus: true,
      corpusSize: 40,
      env: { EMAIL_CACHE_REVALIDATE: "each" },
    });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    // The first delta sync names every message (and so drops cached copies): let it finish first.
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
  });

  it("a page and an email served from the cache are byte for byte the uncached answer and the schema serializer's", async () => {
    const path = `/api/v1/emails?account_id=${adeleId}&limit=20`;
    const hitsBefore = await metric("mailroom_email_cache_hits_total");
    const first = await text(path);
    const second = await text(path);
    assert.ok(
      (await metric("mailroom_email_cache_hits_total")) >= hitsBefore + 20,
      "the second page was cached",
    );
    assert.equal(second, first);
    assert.equal(first, await schemaBytes(EmailListSchema, JSON.parse(first)));

    const meta = `${path}&meta_only=true`;
    const metaFirst = await text(meta);
    assert.equal(await text(meta), metaFirst);
    assert.equal(metaFirst, await schemaBytes(EmailListSchema, JSON.parse(metaFirst)));

    const id = (JSON.parse(first) as EmailList).items[0]!.id;
    const one = await text(`/api/v1/emails/${id}`);
    const again = await text(`/api/v1/emails/${id}`);
    assert.equal(again, one);
    assert.equal(one, await schemaBytes(EmailSchema, JSON.parse(one)));
    assert.deepEqual(JSON.parse(one), (JSON.parse(first) as EmailList).items[0]);

    // Off (EMAIL_CACHE_MB=0 in effect): the same bytes again.
    const cache = (h.services.email as unknown as { deps: { cache: EmailCache | undefined } }).deps;
    const saved = cache.cache;
    cache.cache = undefined;
    try {
      assert.equal(await text(path), first);
      assert.equal(await text(`/api/v1/emails/${id}`), one);
    } finally {
      cache.cache = saved;
    }
  });

  it("a message changed in Graph behind Mailroom's back is served changed on the next read, and realtime's round drops it", async () => {
    const path = `/api/v1/emails?account_id=${adeleId}&limit=5`;
    const listed = JSON.parse(await text(path)) as EmailList;
    const target = listed.items[1]!;
    await text(`/api/v1/emails/${target.id}`);
    const record = store().all.find((m) => m.immutableId === decodeProviderId(target.provider_id))!;
    assert.ok(record, "the sandbox record of the listed email");
    store().updateMessage(record, (m) => {
      m.subject = "changed behind Mailroom's back";
      m.isRead = !m.isRead;
    });
    // No realtime needed for correctness: the version Graph names no longer matches the cached one.
    const page = JSON.parse(await text(path)) as EmailList;
    assert.equal(page.items[1]!.subject, "changed behind Mailroom's back");
    assert.equal(page.items[1]!.read_date === null, target.read_date !== null);
    const one = JSON.parse(await text(`/api/v1/emails/${target.id}`)) as EmailList["items"][number];
    assert.equal(one.subject, "changed behind Mailroom's back");

    // Realtime's delta round names the message: its cached copies are dropped.
    store().updateMessage(record, (m) => {
      m.subject = "changed again";
    });
    const dropped = await metric("mailroom_email_cache_invalidations_total");
    await h.services.realtime.sync(adeleId);
    assert.ok((await metric("mailroom_email_cache_invalidations_total")) > dropped);
    assert.equal((JSON.parse(await text(path)) as EmailList).items[1]!.subject, "changed again");
  });

  it("an email deleted in Graph is not served from the cache (404), and an update through Mailroom is read back", async () => {
    const listed = JSON.parse(await text(`/api/v1/emails?account_id=${adeleId}&limit=5`)) as EmailList;
    const gone = listed.items[3]!;
    const kept = listed.items[2]!;
    await text(`/api/v1/emails/${gone.id}`);
    const record = store().all.find((m) => m.immutableId === decodeProviderId(gone.provider_id))!;
    store().purge(record);
    const res = await fetch(`${h.baseUrl}/api/v1/emails/${gone.id}`, {
      headers: { "x-api-key": h.t.apiKey },
    });
    assert.equal(res.status, 404);

    const put = await fetch(`${h.baseUrl}/api/v1/emails/${kept.id}`, {
      method: "PUT",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ unread: kept.read_date !== null }),
    });
    assert.equal(put.status, 200);
    const after = JSON.parse(await text(`/api/v1/emails/${kept.id}`)) as EmailObject;
    assert.equal(after.read_date === null, kept.read_date !== null);
  });
});

describe("email cache: Graph requests (EMAIL_CACHE_REVALIDATE=each)", () => {
  let h: ConnectHarness;
  let adeleId: string;
  const requests = () => graphRequests(h, ADELE);
  const page = async (cursor?: string) => {
    const query = `account_id=${adeleId}&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await fetch(`${h.baseUrl}/api/v1/emails?${query}`, { headers: { "x-api-key": h.t.apiKey } });
    assert.equal(res.status, 200);
    return (await res.json()) as EmailList;
  };

  before(async () => {
    h = await startConnectHarness("sqlite", {
      seedCorpus: true,
      corpusSize: 40,
      env: { EMAIL_CACHE_REVALIDATE: "each" },
    });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
  });

  it("a first walk through a mailbox costs one Graph request per page (at most one more) plus at most one parent lookup per page, a cached page one", async () => {
    await h.services.email.listFolders(adeleId); // the folder tree, read once and kept 30 s
    const start = await requests();
    let cursor: string | null = null;
    let pages = 0;
    do {
      cursor = (await page(cursor ?? undefined)).cursor;
      pages++;
    } while (cursor);
    assert.ok(pages >= 3, `${pages} pages`);
    const walked = (await requests()) - start;
    // A page with replies whose parents are not on it asks Graph for those parents once (in_reply_to).
    assert.ok(walked <= 2 * pages + 1, `${walked} Graph requests for ${pages} pages`);

    // The first page again, twice: a full read that finds its emails cached, then a version read only.
    await page();
    const before = await requests();
    const hits = (h.services.email as unknown as { deps: { cache: EmailCache } }).deps.cache.stats().hits;
    await page();
    assert.equal((await requests()) - before, 1);
    assert.equal(
      (h.services.email as unknown as { deps: { cache: EmailCache } }).deps.cache.stats().hits,
      hits + 10,
    );
  });
});

describe("email cache: served as last seen (EMAIL_CACHE_REVALIDATE=on-change, the default)", () => {
  let h: ConnectHarness;
  let adeleId: string;
  const clock = new ShiftedClock();
  const text = async (path: string) => {
    const res = await fetch(`${h.baseUrl}${path}`, { headers: { "x-api-key": h.t.apiKey } });
    assert.equal(res.status, 200, path);
    return res.text();
  };
  const requests = () => graphRequests(h, ADELE);
  const store = () => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);
  const recordOf = (email: EmailObject) =>
    store().all.find((m) => m.immutableId === decodeProviderId(email.provider_id))!;

  before(async () => {
    // Polled every 30 s: a sync is trusted for 65 s (two intervals and a margin).
    h = await startConnectHarness("sqlite", {
      seedCorpus: true,
      corpusSize: 40,
      clock,
      // test/support/app.ts sets `each` for the other suites: this one runs the default.
      env: { POLL_INTERVAL_SECONDS: "30", EMAIL_CACHE_REVALIDATE: "on-change" },
    });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
  });

  it("an unchanged page, meta_only page, search page and email are served again without a Graph request, byte for byte", async () => {
    await h.services.realtime.sync(adeleId);
    for (const path of [
      `/api/v1/emails?account_id=${adeleId}&limit=20`,
      `/api/v1/emails?account_id=${adeleId}&limit=20&meta_only=true`,
      `/api/v1/emails?account_id=${adeleId}&limit=10&search=list`,
    ]) {
      const first = await text(path);
      const second = await text(path);
      const before = await requests();
      const third = await text(path);
      assert.equal(await requests(), before, `${path}: no Graph request`);
      assert.equal(second, first);
      assert.equal(third, first);
      assert.equal(first, await schemaBytes(EmailListSchema, JSON.parse(first)));
    }
    const id = (JSON.parse(await text(`/api/v1/emails?account_id=${adeleId}&limit=1`)) as EmailList).items[0]!
      .id;
    const one = await text(`/api/v1/emails/${id}`);
    const before = await requests();
    assert.equal(await text(`/api/v1/emails/${id}`), one);
    assert.equal(await requests(), before, "GET /emails/{id}: no Graph request");
  });

  it("a change made in Graph behind Mailroom's back is served once realtime has seen it", async () => {
    const path = `/api/v1/emails?account_id=${adeleId}&limit=5`;
    await h.services.realtime.sync(adeleId);
    const target = (JSON.parse(await text(path)) as EmailList).items[1]!;
    await text(`/api/v1/emails/${target.id}`);
    store().updateMessage(recordOf(target), (m) => {
      m.subject = "changed in Outlook";
    });
    // Not seen yet: the page and the email as Mailroom last saw them.
    assert.equal((JSON.parse(await text(path)) as EmailList).items[1]!.subject, target.subject);
    // Realtime's round sees it: every later read has it.
    await h.services.realtime.sync(adeleId);
    assert.equal((JSON.parse(await text(path)) as EmailList).items[1]!.subject, "changed in Outlook");
    const one = JSON.parse(await text(`/api/v1/emails/${target.id}`)) as EmailList["items"][number];
    assert.equal(one.subject, "changed in Outlook");
  });

  it("a change made through Mailroom is read back at once", async () => {
    const path = `/api/v1/emails?account_id=${adeleId}&limit=5`;
    await h.services.realtime.sync(adeleId);
    const target = (JSON.parse(await text(path)) as EmailList).items[2]!;
    await text(`/api/v1/emails/${target.id}`);
    const put = await fetch(`${h.baseUrl}/api/v1/emails/${target.id}`, {
      method: "PUT",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ unread: target.read_date !== null }),
    });
    assert.equal(put.status, 200);
    const page = JSON.parse(await text(path)) as EmailList;
    assert.equal(page.items[2]!.read_date === null, target.read_date !== null);
    const one = JSON.parse(await text(`/api/v1/emails/${target.id}`)) as EmailObject;
    assert.equal(one.read_date === null, target.read_date !== null);
  });

  it("when realtime has not synced the mailbox within two poll intervals, reads ask Graph again", async () => {
    const path = `/api/v1/emails?account_id=${adeleId}&limit=5`;
    await h.services.realtime.sync(adeleId);
    const target = (JSON.parse(await text(path)) as EmailList).items[3]!;
    await text(`/api/v1/emails/${target.id}`);
    store().updateMessage(recordOf(target), (m) => {
      m.subject = "changed while realtime was behind";
    });
    clock.advance(66_000);
    try {
      const before = await requests();
      assert.equal(
        (JSON.parse(await text(path)) as EmailList).items[3]!.subject,
        "changed while realtime was behind",
      );
      const one = JSON.parse(await text(`/api/v1/emails/${target.id}`)) as EmailObject & { subject: string };
      assert.equal(one.subject, "changed while realtime was behind");
      assert.ok((await requests()) > before);
    } finally {
      clock.reset();
    }
  });

  it("a disconnected account is answered 401 though its emails are cached", async () => {
    const path = `/api/v1/emails?account_id=${adeleId}&limit=5`;
    await h.services.realtime.sync(adeleId);
    await text(path);
    await text(path);
    await h.services.storage.db
      .updateTable("accounts")
      .set({ status: "CREDENTIALS" })
      .where("id", "=", adeleId)
      .execute();
    try {
      const res = await fetch(`${h.baseUrl}${path}`, { headers: { "x-api-key": h.t.apiKey } });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { type: string }).type, "errors/disconnected_account");
    } finally {
      await h.services.storage.db
        .updateTable("accounts")
        .set({ status: "OK" })
        .where("id", "=", adeleId)
        .execute();
    }
  });
});

describe("email cache bound", () => {
  const email = (id: string, bodyChars: number): EmailObject =>
    ({ id, body: "x".repeat(bodyChars), body_plain: "" }) as unknown as EmailObject;

  it("evicts the least recently used entries to stay within the total bound", () => {
    const one = estimateBytes(email("a", 10_000));
    const cache = new EmailCache({ maxBytes: one * 3, maxBytesPerAccount: one * 3 });
    for (const id of ["a", "b", "c"]) cache.set(`acc-${id}`, "2_full", id, "v1", email(id, 10_000));
    assert.ok(cache.get("acc-a", "2_full", "a", "v1"), "a used again: b is now the oldest");
    cache.set("acc-d", "2_full", "d", "v1", email("d", 10_000));
    assert.equal(cache.get("acc-b", "2_full", "b", "v1"), undefined);
    assert.ok(cache.get("acc-a", "2_full", "a", "v1"));
    const stats = cache.stats();
    assert.equal(stats.evictions, 1);
    assert.equal(stats.entries, 3);
    assert.ok(stats.bytes <= one * 3);
  });

  it("an entry read between insertions is never evicted, whether the cache or its account is full", () => {
    const one = estimateBytes(email("a", 10_000));
    for (const [maxBytes, maxBytesPerAccount] of [
      [one * 10, one * 100],
      [one * 100, one * 10],
      [one * 10, one * 10],
    ] as const) {
      const cache = new EmailCache({ maxBytes, maxBytesPerAccount });
      cache.set("acc", "2_full", "hot", "v1", email("hot", 10_000));
      for (let i = 0; i < 200; i++) {
        cache.set("acc", "2_full", `m${i}`, "v1", email(`m${i}`, 10_000));
        // Reads in a row: the first may move the entry, the next ones find it in the newer half.
        for (let read = 0; read < 3; read++) assert.ok(cache.get("acc", "2_full", "hot", "v1"), `round ${i}`);
      }
      assert.equal(cache.stats().entries, 10);
      assert.equal(cache.get("acc", "2_full", "m189", "v1"), undefined, "the oldest of the rest went first");
      assert.ok(cache.get("acc", "2_full", "m199", "v1"));
    }
  });

  it("one account cannot hold more than its share, and a wrong version is a miss", () => {
    const one = estimateBytes(email("a", 10_000));
    const cache = new EmailCache({ maxBytes: one * 100, maxBytesPerAccount: one * 2 });
    for (let i = 0; i < 10; i++) cache.set("busy", "2_full", `m${i}`, "v1", email(`m${i}`, 10_000));
    cache.set("quiet", "2_full", "q", "v1", email("q", 10_000));
    const stats = cache.stats();
    assert.equal(stats.entries, 3);
    assert.equal(stats.evictions, 8);
    assert.ok(cache.get("busy", "2_full", "m9", "v1"));
    assert.equal(cache.get("busy", "2_full", "m9", "v2"), undefined);
    assert.ok(cache.get("quiet", "2_full", "q", "v1"));
    cache.forgetAccount("busy");
    assert.equal(cache.stats().entries, 1);
  });

  it("an email larger than an account's share is not kept, and a bound of 0 keeps nothing", () => {
    const cache = new EmailCache({ maxBytes: 1_000_000, maxBytesPerAccount: 10_000 });
    cache.set("a", "2_full", "big", "v1", email("big", 100_000));
    assert.equal(cache.stats().entries, 0);
    const off = new EmailCache({ maxBytes: 0, maxBytesPerAccount: 0 });
    assert.equal(off.enabled, false);
    off.set("a", "2_full", "x", "v1", email("x", 1));
    assert.equal(off.stats().entries, 0);
  });
});
