// GET /api/v1/emails with inputs that pass the schema but cannot become a Graph filter: impossible
// dates, forged cursors, filters too long for Microsoft's URL. Each is a 400 naming the input, not a 500.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const cursorOf = (state: unknown) =>
  encodeURIComponent(Buffer.from(JSON.stringify(state)).toString("base64"));

describe("GET /api/v1/emails rejects well-formed but impossible input with 400", () => {
  let h: ConnectHarness;
  let accountId: string;
  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: true, corpusSize: 10 });
    accountId = (await h.connectMailboxes([ADELE]))[ADELE]!;
  });
  after(async () => {
    await h.dispose();
  });

  const list = async (query: string) => {
    const res = await h.app.inject({
      method: "GET",
      url: `/api/v1/emails?account_id=${accountId}&${query}`,
      headers: { "x-api-key": h.t.apiKey },
    });
    return {
      status: res.statusCode,
      body: res.json() as { type?: string; detail?: string; object?: string },
    };
  };
  const page = { last_id: "", last_date: "", seen: [] };

  it("unknown query parameters are a 400 naming each of them, not dropped (Unipile's newer exclude_folders included)", async () => {
    const res = await list("serch=invoice&exclude_folders=SPAM&limt=5");
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.type, "errors/invalid_parameters");
    assert.match(
      String(res.body.detail),
      /^querystring: unknown parameters "serch", "exclude_folders", "limt"; /,
    );
    assert.match(String(res.body.detail), /takes account_id, role, folder/);
    const one = await list("unread=true");
    assert.match(String(one.body.detail), /^querystring: unknown parameter "unread";/);
  });

  it("every documented parameter is still taken, and the SDK's getAll passes strict validation", async () => {
    const res = await list(
      "limit=2&meta_only=true&include_headers=false&role=inbox&before=2100-01-01T00:00:00.000Z&after=2000-01-01T00:00:00.000Z&any_email=a%40example.com&from=a%40example.com&to=b%40example.com&thread_id=t&message_id=m",
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const client = new UnipileClient(h.baseUrl, h.t.apiKey, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
    const list2 = (await client.email.getAll({ account_id: accountId, role: "inbox", limit: 3 })) as {
      object: string;
    };
    assert.equal(list2.object, "EmailList");
    const err = await client.email
      .getAll({ account_id: accountId }, { extra_params: { exclude_folders: "x" } })
      .then(
        () => undefined,
        (e: { body: { status: number; detail: string } }) => e.body,
      );
    assert.equal(err?.status, 400);
    assert.match(String(err?.detail), /"exclude_folders"/);
  });

  for (const [name, query, type, detail] of [
    [
      "a `before` that matches the pattern but is no date",
      "before=2024-19-39T99:99:99.999Z",
      "invalid_parameters",
      /before: not a valid date/,
    ],
    [
      "an `after` that matches the pattern but is no date",
      "after=1000-00-00T00:00:00.000Z",
      "invalid_parameters",
      /after: not a valid date/,
    ],
  ] as const) {
    it(`${name} gets 400 errors/${type}`, async () => {
      const res = await list(query);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.type, `errors/${type}`);
      assert.match(String(res.body.detail), detail);
    });
  }

  const forged: [string, Record<string, unknown>, string][] = [
    [
      "a last_date that is no date",
      { cursor: { ...page, last_date: "2024-19-39T99:99:99.999Z" } },
      "invalid_parameters",
    ],
    ["a `before` that is no date", { before: "yesterday" }, "invalid_parameters"],
    ["a role that is not a folder role", { role: "__proto__" }, "invalid_parameters"],
    ["a limit that is not a number", { limit: "many" }, "invalid_parameters"],
    ["a filter of the wrong type", { from: 42 }, "invalid_parameters"],
    ["ids of the wrong type in `seen`", { cursor: { ...page, seen: [{}] } }, "invalid_parameters"],
    [
      "more addresses than Microsoft's URL can carry",
      { any_email: Array.from({ length: 60 }, (_, i) => `u${i}@x.io`).join(",") },
      "too_many_characters",
    ],
  ];
  for (const [name, change, type] of forged) {
    it(`a forged cursor with ${name} gets 400 errors/${type}`, async () => {
      const res = await list(
        `cursor=${cursorOf({ account_id: accountId, limit: 10, cursor: page, ...change })}`,
      );
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.type, `errors/${type}`);
      assert.match(String(res.body.detail), /cursor/);
    });
  }

  it("a cursor Mailroom issued still pages", async () => {
    const first = await list("limit=2");
    assert.equal(first.status, 200);
    const cursor = (first.body as { cursor: string | null }).cursor;
    assert.ok(cursor);
    const second = await list(`cursor=${encodeURIComponent(cursor)}`);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.object, "EmailList");
  });
});
