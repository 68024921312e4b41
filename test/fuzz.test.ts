// Property: whatever a client sends to any /api/v1 operation in Mailroom's OpenAPI document, the answer
// is never a 5xx; a 4xx has Unipile's error shape and the JSON content type, and stores nothing.
// Seeded: FUZZ_SEED=<n> npm test -- fuzz replays a run; FUZZ_RUNS=<n> runs longer; FUZZ_STATS=1 prints
// one line per request (operation, status, error type) to see how deep the generated requests get.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ERROR_CODES } from "../src/lib/errors.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { changedTables, snapshotDb } from "./support/db-snapshot.ts";
import {
  type FuzzRequest,
  type Operation,
  operationsOf,
  type Pools,
  requestFor,
} from "./support/fuzz-requests.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 600;

describe("fuzzing every /api/v1 operation from the OpenAPI document", () => {
  let h: ConnectHarness;
  let operations: Operation[];
  let pools: Pools;
  let accountId: string;

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: true, corpusSize: 20 });
    accountId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    const inject = (method: "GET" | "POST", url: string, payload?: unknown) =>
      h.app.inject({
        method,
        url,
        headers: { "x-api-key": h.t.apiKey, ...(payload ? { "content-type": "application/json" } : {}) },
        ...(payload ? { payload: JSON.stringify(payload) } : {}),
      });
    const doc = (await inject("GET", "/api/v1/openapi.json")).json();
    operations = operationsOf(doc);
    const emails = (await inject("GET", `/api/v1/emails?account_id=${accountId}&limit=2`)).json() as {
      items: { id: string; provider_id: string; attachments?: { id: string }[] }[];
    };
    const folders = (await inject("GET", `/api/v1/folders?account_id=${accountId}`)).json() as {
      items: { id: string; provider_id: string }[];
    };
    const webhook = (
      await inject("POST", "/api/v1/webhooks", {
        request_url: "https://receiver.example.com/hooks",
        source: "email",
      })
    ).json() as { webhook_id?: string };
    const emailIds = emails.items.flatMap((e) => [e.id, e.provider_id]);
    pools = {
      any: [accountId, "acc_doesnotexist", "2025-01-01T00:00:00.000Z"],
      account_id: [accountId, accountId, "acc_doesnotexist"],
      accounts: [accountId, "acc_doesnotexist"],
      emails: emailIds,
      draft_id: emailIds,
      reply_to: emailIds,
      attachment_id: emails.items.flatMap((e) => (e.attachments ?? []).map((a) => a.id)),
      folders: folders.items.slice(0, 3).flatMap((f) => [f.id, f.provider_id]),
      folder: [...folders.items.slice(0, 2).map((f) => f.provider_id), "INBOX", "Archive"],
      webhooks: webhook.webhook_id ? [webhook.webhook_id] : [],
      identifier: ["megan.bowen@contoso.onmicrosoft.com", ADELE],
      from: ["megan.bowen@contoso.onmicrosoft.com", ADELE],
      to: ["megan.bowen@contoso.onmicrosoft.com"],
      any_email: [`${ADELE},megan.bowen@contoso.onmicrosoft.com`],
      role: ["inbox", "sent"],
      request_url: ["https://receiver.example.com/hooks", "http://127.0.0.1:1/x", "ftp://x"],
      source: ["email", "account_status"],
      api_url: [h.baseUrl],
      expiresOn: [new Date(Date.now() + 3600_000).toISOString(), "2001-01-01T00:00:00.000Z"],
      notify_url: ["https://app.example.com/notify"],
      success_redirect_url: ["https://app.example.com/done"],
      failure_redirect_url: ["https://app.example.com/failed"],
      since: ["2020-01-01T00:00:00.000Z"],
      name: ["fuzz"],
      before: ["2030-01-01T00:00:00.000Z"],
      after: ["2000-01-01T00:00:00.000Z"],
    };
  });
  after(async () => {
    await h.dispose();
  });

  it("the document lists the API's operations, so new routes are fuzzed without edits", () => {
    const names = operations.map((o) => `${o.method} ${o.path}`);
    for (const expected of [
      "GET /api/v1/emails",
      "POST /api/v1/emails",
      "POST /api/v1/drafts",
      "POST /api/v1/webhooks",
    ])
      assert.ok(names.includes(expected), `${expected} is missing from the OpenAPI document`);
  });

  it("the database snapshot notices a stored row, so an unchanged snapshot means nothing was stored", async () => {
    const storage = h.services.storage;
    const before = await snapshotDb(storage.db, storage.dialect);
    const { summary } = await h.services.apiKeys.create("snapshot-probe");
    const afterCreate = await snapshotDb(storage.db, storage.dialect);
    assert.deepEqual(changedTables(before, afterCreate), ["api_keys"]);
    await h.services.apiKeys.revoke(summary.id);
    assert.deepEqual(changedTables(afterCreate, await snapshotDb(storage.db, storage.dialect)), ["api_keys"]);
  });

  it(`never answers 5xx; a 4xx is Unipile-shaped JSON and stores nothing (seed ${SEED}, ${RUNS} runs)`, async () => {
    const storage = h.services.storage;
    // Deleting the connected mailbox or the webhook would leave later runs nothing to get past lookups with.
    // A restart's catch-up sync runs after its answer, storing rows while later requests are checked
    // (accounts-restart.test.ts covers a restart that is accepted).
    const poolsFor = (op: Operation): Pools =>
      op.method === "DELETE" || op.path.endsWith("/restart")
        ? {
            ...pools,
            any: pools.any.filter((v) => v !== accountId),
            accounts: ["acc_doesnotexist"],
            webhooks: ["wh_doesnotexist"],
          }
        : pools;
    // Operations with more inputs get more runs.
    const arbitrary = fc.oneof(
      ...operations.map((op) => ({
        weight: 1 + op.params.length + (op.body || op.method === "POST" ? 3 : 0),
        arbitrary: requestFor(op, poolsFor(op), h.t.apiKey).map((request) => ({ op, request })),
      })),
    );
    const property = fc.asyncProperty(
      arbitrary,
      async ({ op, request }: { op: Operation; request: FuzzRequest }) => {
        const before = await snapshotDb(storage.db, storage.dialect);
        const res = await h.app.inject({
          method: request.method as "GET",
          url: request.url,
          headers: request.headers,
          ...(request.payload !== undefined ? { payload: request.payload } : {}),
        });
        if (process.env.FUZZ_STATS)
          console.log(`STAT ${request.method} ${op.path} ${res.statusCode} ${res.body.slice(0, 160)}`);
        const what = `${request.method} ${request.url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        assert.ok(res.statusCode < 500, `server error: ${what}`);
        if (res.statusCode < 400) return;
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8", what);
        const changed = changedTables(before, await snapshotDb(storage.db, storage.dialect));
        assert.deepEqual(changed, [], `a rejected request changed stored data: ${what}`);
        if (request.method === "HEAD") return;
        const body = JSON.parse(res.body) as Record<string, unknown>;
        assert.equal(body.status, res.statusCode, what);
        assert.match(String(body.type), /^errors\/[a-z_]+$/, what);
        const code = String(body.type).slice("errors/".length) as keyof typeof ERROR_CODES;
        assert.equal(ERROR_CODES[code]?.status, res.statusCode, `${what}: type and status disagree`);
        assert.equal(typeof body.title, "string", what);
        assert.equal(typeof body.detail, "string", what);
      },
    );
    try {
      await fc.assert(property, { seed: SEED, numRuns: RUNS });
    } catch (error) {
      // fast-check's report carries the seed and path; say how to replay it in this suite.
      throw new Error(`Replay with FUZZ_SEED=${SEED} npm test -- fuzz\n${(error as Error).message}`, {
        cause: error,
      });
    }
  });
});
