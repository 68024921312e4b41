// Idempotency-Key on the POST routes that create something (docs/adr/0011-send-once-and-scheduled.md),
// against the sandbox's Graph over HTTP: racing duplicates send one message, a retry replays the first
// answer, another body with the key is 422, a key in flight past the wait bound is 409.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";

describe("Idempotency-Key", () => {
  let h: ConnectHarness;
  let adeleId: string;

  const post = (url: string, body: unknown, key?: string, apiKey?: string) =>
    fetch(`${h.baseUrl}${url}`, {
      method: "POST",
      headers: {
        "x-api-key": apiKey ?? h.t.apiKey,
        ...(key !== undefined ? { "idempotency-key": key } : {}),
        ...(body instanceof FormData ? {} : { "content-type": "application/json" }),
      },
      body: body instanceof FormData ? body : JSON.stringify(body),
    });
  const received = (subject: string) => {
    const megan = h.sandbox.state.userByEmail(MEGAN)!;
    return mailboxes(h.sandbox.state)
      .get(megan.id)
      .all.filter((m) => m.subject === subject && !m.isDraft).length;
  };

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: false });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
  });
  after(async () => {
    await h.dispose();
  });

  it("racing duplicates and a retry with the same key send one message and all get the same answer", async () => {
    const body = { account_id: adeleId, to: [{ identifier: MEGAN }], subject: "once only", body: "hi" };
    const answers = await Promise.all([
      post("/api/v1/emails", body, "race-1"),
      post("/api/v1/emails", body, "race-1"),
      post("/api/v1/emails", body, "race-1"),
    ]);
    const bodies = await Promise.all(
      answers.map((r) => r.json() as Promise<{ tracking_id: string; id: string }>),
    );
    assert.deepEqual(
      answers.map((r) => r.status),
      [201, 201, 201],
    );
    assert.equal(new Set(bodies.map((b) => b.tracking_id)).size, 1);
    assert.equal(new Set(bodies.map((b) => b.id)).size, 1);
    assert.equal(answers.filter((r) => r.headers.get("idempotent-replayed") === "true").length, 2);
    const retry = await post("/api/v1/emails", body, "race-1");
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await retry.json(), bodies[0]);
    assert.equal(received("once only"), 1);
  });

  it("the same key with another body answers 422 unprocessable_entity naming the key, and sends nothing", async () => {
    const body = { account_id: adeleId, to: [{ identifier: MEGAN }], subject: "first body", body: "a" };
    assert.equal((await post("/api/v1/emails", body, "reuse-1")).status, 201);
    const other = await post("/api/v1/emails", { ...body, subject: "second body" }, "reuse-1");
    assert.equal(other.status, 422);
    const error = (await other.json()) as { type: string; detail: string; status: number };
    assert.equal(error.type, "errors/unprocessable_entity");
    assert.equal(error.status, 422);
    assert.match(error.detail, /reuse-1/);
    assert.equal(received("second body"), 0);
  });

  it("multipart bodies are fingerprinted with their attachment bytes", async () => {
    const form = (bytes: string) => {
      const f = new FormData();
      f.append("account_id", adeleId);
      f.append("to", JSON.stringify([{ identifier: MEGAN }]));
      f.append("subject", "with file");
      f.append("body", "see attached");
      f.append("attachments", new Blob([bytes]), "a.txt");
      return f;
    };
    const first = await post("/api/v1/emails", form("one"), "multi-1");
    assert.equal(first.status, 201);
    const same = await post("/api/v1/emails", form("one"), "multi-1");
    assert.equal(same.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await same.json(), await first.json());
    assert.equal((await post("/api/v1/emails", form("two"), "multi-1")).status, 422);
    assert.equal(received("with file"), 1);
  });

  it("a file spooled to disk is fingerprinted with all of its bytes: the last one differing is another body", async () => {
    const big = Buffer.alloc(3_500_000, 7);
    const form = (last: number) => {
      const f = new FormData();
      f.append("account_id", adeleId);
      f.append("subject", "with a large file");
      f.append("body", "see attached");
      const bytes = Buffer.from(big);
      bytes[bytes.length - 1] = last;
      f.append("attachments", new Blob([bytes]), "large.bin");
      f.append("to", JSON.stringify([{ identifier: MEGAN }]));
      return f;
    };
    const first = await post("/api/v1/emails", form(1), "multi-large");
    assert.equal(first.status, 201, await first.clone().text());
    const same = await post("/api/v1/emails", form(1), "multi-large");
    assert.equal(same.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await same.json(), await first.json());
    assert.equal((await post("/api/v1/emails", form(2), "multi-large")).status, 422);
    assert.equal(received("with a large file"), 1);
  });

  it("keys belong to one API key: another API key's request with the same key runs on its own", async () => {
    const { key } = await h.services.apiKeys.create("second");
    const body = { account_id: adeleId, to: [{ identifier: MEGAN }], subject: "two keys", body: "x" };
    const a = await post("/api/v1/drafts", body, "shared-key");
    const b = await post("/api/v1/drafts", body, "shared-key", key);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.notEqual(
      ((await a.json()) as { draft_id: string }).draft_id,
      ((await b.json()) as { draft_id: string }).draft_id,
    );
  });

  it("drafts, hosted links and webhooks replay their first answer (secrets included) for the same key", async () => {
    const draftBody = { account_id: adeleId, to: [{ identifier: MEGAN }], subject: "draft once", body: "d" };
    const d1 = (await (await post("/api/v1/drafts", draftBody, "draft-1")).json()) as { draft_id: string };
    const d2 = (await (await post("/api/v1/drafts", draftBody, "draft-1")).json()) as { draft_id: string };
    assert.equal(d1.draft_id, d2.draft_id);

    const linkBody = {
      type: "create",
      providers: "*",
      api_url: h.baseUrl,
      expiresOn: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const l1 = await post("/api/v1/hosted/accounts/link", linkBody, "link-1");
    const l2 = await post("/api/v1/hosted/accounts/link", linkBody, "link-1");
    assert.equal(l1.status, 200);
    assert.equal(l2.status, 200);
    assert.deepEqual(await l2.json(), await l1.json());

    const hookBody = { request_url: "https://hooks.example/mail", source: "email" };
    const w1 = await post("/api/v1/webhooks", hookBody, "hook-1");
    const w2 = await post("/api/v1/webhooks", hookBody, "hook-1");
    assert.equal(w1.status, 201);
    assert.equal(w2.status, 201);
    const [j1, j2] = [(await w1.json()) as { webhook_id: string; secret: string }, await w2.json()];
    assert.deepEqual(j2, j1);
    const hooks = await h.services.storage.db.selectFrom("webhooks").select("id").execute();
    assert.equal(hooks.length, 1);
    // The stored answer holds the webhook's secret: encrypted at rest.
    const rows = await h.services.storage.db.selectFrom("idempotency_keys").select("response_body").execute();
    assert.ok(rows.every((r) => !r.response_body?.includes(j1.secret)));
    // The same key on another route is another request: 422.
    const elsewhere = await post("/api/v1/emails", draftBody, "draft-1");
    assert.equal(elsewhere.status, 422);
    assert.equal(received("draft once"), 0);
  });

  it("an empty key or one over 255 characters is 400 naming the header", async () => {
    const body = { account_id: adeleId, to: [{ identifier: MEGAN }], subject: "bad key", body: "x" };
    for (const key of ["k".repeat(256), " "]) {
      const res = await post("/api/v1/emails", body, key);
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { detail: string }).detail, /Idempotency-Key/);
    }
    assert.equal((await post("/api/v1/emails", body, "k".repeat(255))).status, 201);
  });

  it("a duplicate of a request still running past the wait bound is 409 operation_canceled, and nothing runs twice", async () => {
    const service = h.services.idempotency;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const request = { scope: "test-scope", key: "slow", fingerprint: "f" };
    let runs = 0;
    const first = service.execute(request, async () => {
      runs++;
      await held;
      return { status: 201, body: { ok: true } };
    });
    const patient = (h.services.idempotency as unknown as { deps: { options: { waitMs: number } } }).deps
      .options;
    const saved = patient.waitMs;
    patient.waitMs = 100;
    await assert.rejects(
      service.execute(request, async () => {
        runs++;
        return { status: 201, body: { ok: false } };
      }),
      (e: { code?: string }) => e.code === "operation_canceled",
    );
    patient.waitMs = saved;
    const waiting = service.execute(request, async () => {
      runs++;
      return { status: 201, body: { ok: false } };
    });
    release();
    assert.deepEqual((await first).body, { ok: true });
    const second = await waiting;
    assert.deepEqual(second.body, { ok: true });
    assert.equal(second.replayed, true);
    assert.equal(runs, 1);
  });

  it("expired keys are swept by housekeeping and may then be used afresh", async () => {
    const db = h.services.storage.db;
    await db
      .updateTable("idempotency_keys")
      .set({ expires_at: 1 })
      .where("idempotency_key", "=", "draft-1")
      .execute();
    const report = await h.services.housekeeping.run();
    assert.ok(report.deleted.idempotency_keys >= 1);
    const left = await db
      .selectFrom("idempotency_keys")
      .select("id")
      .where("idempotency_key", "=", "draft-1")
      .execute();
    assert.equal(left.length, 0);
  });
});
