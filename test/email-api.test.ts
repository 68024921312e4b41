// The email read side through the official unipile-node-sdk in strict validation mode, against the
// sandbox's Graph over HTTP (corpus-seeded mailboxes), with real SQLite.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { SEEDED_APP } from "../sandbox/src/seed.ts";
import { decodeProviderId } from "../src/domain/email/email-ids.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const PATH_SAFE = /^[A-Za-z0-9._=~-]+$/;

type Email = Record<string, unknown> & { id: string; provider_id: string; role: string; kind: string };
type EmailList = { object: string; items: Email[]; cursor: string | null };

async function sdkError(
  promise: Promise<unknown>,
): Promise<{ status: number; type: string; detail?: string }> {
  try {
    await promise;
  } catch (error) {
    return (error as { body: { status: number; type: string; detail?: string } }).body;
  }
  throw new Error("expected the call to fail");
}

describe("email API (read side)", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  let meganId: string;

  const sandboxUser = (email: string) => h.sandbox.state.userByEmail(email)!;
  const statsKey = (email: string) => `${SEEDED_APP.clientId}|${sandboxUser(email).id}`;
  const stats = async () =>
    (await (await fetch(`${h.sandbox.url}/_sandbox/stats`)).json()) as {
      requests: Record<string, number>;
      peak_concurrency: Record<string, number>;
    };
  const scenario = async (body: Record<string, unknown>) => {
    const res = await fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const api = (method: string, url: string, body?: unknown) =>
    fetch(`${h.baseUrl}${url}`, {
      method,
      headers: {
        "x-api-key": h.t.apiKey,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const deliver = async (subject: string) => {
    const res = await fetch(`${h.sandbox.url}/_sandbox/mail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ from: "someone@fabrikam.example", to: [ADELE], subject, body: "hello" }),
    });
    assert.equal(res.status, 201, await res.text());
  };

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: true, corpusSize: 120 });
    client = new UnipileClient(h.baseUrl, h.t.apiKey, strict);
    const ids = await h.connectMailboxes([ADELE, MEGAN]);
    adeleId = ids[ADELE]!;
    meganId = ids[MEGAN]!;
  });
  after(async () => {
    await h.dispose();
  });

  it("getAll returns 2_full emails that pass the SDK's strict validator, newest first, with path-safe ids", async () => {
    const list = (await client.email.getAll({ account_id: adeleId, limit: 10 })) as unknown as EmailList;
    assert.equal(list.object, "EmailList");
    assert.equal(list.items.length, 10);
    assert.match(String(list.cursor), /^[A-Za-z0-9+/]+={0,2}$/);
    const dates = list.items.map((e) => Date.parse(String(e.date)));
    assert.deepEqual(
      dates,
      [...dates].sort((a, b) => b - a),
    );
    for (const email of list.items) {
      assert.equal(email.kind, "2_full");
      assert.equal(email.type, "OUTLOOK");
      assert.match(email.id, PATH_SAFE);
      assert.match(email.provider_id, PATH_SAFE);
      assert.equal(typeof email.body_plain, "string");
    }
  });

  it("meta_only returns 1_meta with empty bodies; include_headers adds headers", async () => {
    const meta = (await client.email.getAll(
      { account_id: adeleId, limit: 3 },
      { extra_params: { meta_only: "true" } },
    )) as unknown as EmailList;
    for (const email of meta.items) {
      assert.equal(email.kind, "1_meta");
      assert.equal(email.body, "");
      assert.equal(email.body_plain, "");
    }
    const withHeaders = (await client.email.getAll(
      { account_id: adeleId, limit: 2 },
      { extra_params: { include_headers: "true" } },
    )) as unknown as EmailList;
    assert.ok(Array.isArray(withHeaders.items[0]!.headers));
  });

  it("getOne by Mailroom id and by provider id return the same email", async () => {
    const list = (await client.email.getAll({ account_id: adeleId, limit: 1 })) as unknown as EmailList;
    const first = list.items[0]!;
    const byId = (await client.email.getOne(first.id)) as unknown as Email;
    assert.equal(byId.id, first.id);
    assert.equal(byId.kind, "2_full");
    const byProvider = (await client.email.getOne.byProviderId(
      first.provider_id,
      adeleId,
    )) as unknown as Email;
    assert.equal(byProvider.id, first.id);
    assert.equal(byProvider.body, first.body);
  });

  it("folders list with roles and nb_mails; getOneFolder by id and by provider id", async () => {
    const folders = (await client.email.getAllFolders({ account_id: adeleId })) as unknown as {
      object: string;
      items: { id: string; role: string; name: string; provider_id: string; nb_mails: number }[];
    };
    assert.equal(folders.object, "FolderList");
    const roles = new Set(folders.items.map((f) => f.role));
    for (const role of ["inbox", "sent", "drafts", "trash", "spam"]) assert.ok(roles.has(role), role);
    const inbox = folders.items.find((f) => f.role === "inbox")!;
    assert.equal(inbox.name, "Inbox");
    assert.ok(inbox.nb_mails > 0);
    const one = (await client.email.getOneFolder(inbox.id)) as unknown as { id: string; role: string };
    assert.equal(one.id, inbox.id);
    const byProvider = (await client.email.getOneFolder.byProviderId(
      inbox.provider_id,
      adeleId,
    )) as unknown as {
      id: string;
    };
    assert.equal(byProvider.id, inbox.id);
  });

  it("an attachment downloads as bytes with its own content type", async () => {
    let cursor: string | null = null;
    let found: { email: Email; att: { id: string; mime: string; size: number } } | undefined;
    for (let i = 0; i < 10 && !found; i++) {
      const page = (await client.email.getAll({
        account_id: adeleId,
        limit: 50,
        ...(cursor ? { cursor } : {}),
      })) as unknown as EmailList;
      for (const email of page.items) {
        const atts = email.attachments as { id: string; mime: string; size: number }[];
        if (atts.length > 0 && atts[0]!.size < 1_000_000) {
          found = { email, att: atts[0]! };
          break;
        }
      }
      cursor = page.cursor;
      if (!cursor) break;
    }
    assert.ok(found, "the corpus has a mail with an attachment");
    const blob = (await client.email.getEmailAttachment({
      email_id: found.email.id,
      attachment_id: found.att.id,
    })) as Blob;
    assert.ok(blob instanceof Blob);
    assert.equal(blob.size, found.att.size);
    assert.equal(blob.type.split(";")[0], found.att.mime);
  });

  it("update: the SDK's [object Object] body is an empty update; JSON unread marks it unread", async () => {
    const first = ((await client.email.getAll({ account_id: adeleId, limit: 1 })) as unknown as EmailList)
      .items[0]!;
    const updated = (await client.email.update({ email_id: first.id, unread: true })) as unknown as {
      object: string;
    };
    assert.equal(updated.object, "EmailUpdated");
    const res = await api("PUT", `/api/v1/emails/${first.id}`, { unread: true });
    assert.equal(res.status, 200);
    assert.equal(((await client.email.getOne(first.id)) as unknown as Email).read_date, null);
    await api("PUT", `/api/v1/emails/${first.id}`, { unread: false });
    assert.notEqual(((await client.email.getOne(first.id)) as unknown as Email).read_date, null);
    const wrong = await api("PUT", `/api/v1/emails/${first.id}`, { unread: "yes" });
    assert.equal(wrong.status, 400);
  });

  it("update: categories become the message's Outlook categories in Graph; [] clears them; bad ones are 400", async () => {
    const first = ((await client.email.getAll({ account_id: adeleId, limit: 1 })) as unknown as EmailList)
      .items[0]!;
    const graphId = decodeProviderId(first.provider_id)!;
    const inGraph = () =>
      mailboxes(h.sandbox.state)
        .get(sandboxUser(ADELE).id)
        .all.find((m) => m.immutableId === graphId)!.categories;
    const res = await api("PUT", `/api/v1/emails/${first.id}`, { categories: ["Red category", "Project X"] });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { object: "EmailUpdated" });
    assert.deepEqual([...inGraph()], ["Red category", "Project X"]);
    const both = await api("PUT", `/api/v1/emails/${first.id}`, { categories: ["Blue"], unread: true });
    assert.equal(both.status, 200);
    assert.deepEqual([...inGraph()], ["Blue"]);
    assert.equal(((await client.email.getOne(first.id)) as unknown as Email).read_date, null);
    assert.equal((await api("PUT", `/api/v1/emails/${first.id}`, { categories: [] })).status, 200);
    assert.deepEqual([...inGraph()], []);
    for (const categories of [[""], [3], "", { name: "Red" }]) {
      const bad = await api("PUT", `/api/v1/emails/${first.id}`, { categories });
      assert.equal(bad.status, 400, JSON.stringify(categories));
      assert.match(((await bad.json()) as { detail: string }).detail, /categories/);
    }
    await api("PUT", `/api/v1/emails/${first.id}`, { unread: false });
  });

  it("a moved message keeps its id, and delete moves it to trash with the same id", async () => {
    const list = (await client.email.getAll({
      account_id: adeleId,
      role: "inbox",
      limit: 2,
    })) as unknown as EmailList;
    const mail = list.items[1]!;
    const moved = await api("PUT", `/api/v1/emails/${mail.id}`, { folders: ["Archive"] });
    assert.equal(moved.status, 200, await moved.text());
    const after = (await client.email.getOne(mail.id)) as unknown as Email;
    assert.equal(after.id, mail.id);
    assert.equal(after.provider_id, mail.provider_id);
    assert.equal(after.role, "archive");
    const archived = (await client.email.getAll({
      account_id: adeleId,
      role: "archive",
      limit: 5,
    })) as unknown as EmailList;
    assert.ok(archived.items.some((e) => e.id === mail.id));

    const deleted = (await client.email.delete(mail.id)) as unknown as { object: string };
    assert.equal(deleted.object, "EmailDeleted");
    const trashed = (await client.email.getOne(mail.id)) as unknown as Email;
    assert.equal(trashed.role, "trash");
    assert.equal(trashed.id, mail.id);
  });

  it("an unknown folder on move is 422 errors/invalid_folder; an unknown email is 404", async () => {
    const first = ((await client.email.getAll({ account_id: adeleId, limit: 1 })) as unknown as EmailList)
      .items[0]!;
    const res = await api("PUT", `/api/v1/emails/${first.id}`, { folders: ["No Such Folder"] });
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { type: string }).type, "errors/invalid_folder");
    const missing = await sdkError(
      client.email.getOne(`${adeleId}.AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0ANOTHEREATALL0000000000000=`),
    );
    assert.equal(missing.status, 404);
    assert.equal(missing.type, "errors/resource_not_found");
    const noAccount = await sdkError(client.email.getOne("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A="));
    assert.equal(noAccount.status, 404);
  });

  it("unknown query parameters are 400 naming them; wrong types are 400", async () => {
    const unknown = await api("GET", `/api/v1/emails?account_id=${adeleId}&limit=1&is_html=1&foo=bar`);
    assert.equal(unknown.status, 400);
    assert.match(
      ((await unknown.json()) as { detail: string }).detail,
      /unknown parameters "is_html", "foo"/,
    );
    for (const bad of [
      "limit=abc",
      "limit=0",
      "limit=251",
      "meta_only=maybe",
      "before=yesterday",
      "role=Inbox",
    ]) {
      const res = await api("GET", `/api/v1/emails?account_id=${adeleId}&${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(((await res.json()) as { type: string }).type, "errors/invalid_parameters");
    }
    assert.equal((await api("GET", "/api/v1/emails?limit=1")).status, 400);
  });

  it("paging the whole mailbox to the end visits every message once while new mail arrives", async () => {
    const store = mailboxes(h.sandbox.state).get(sandboxUser(ADELE).id);
    const before = new Set(store.all.map((m) => m.immutableId));
    const seen: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const page = (await client.email.getAll(
        { account_id: adeleId, limit: 9, ...(cursor ? { cursor } : {}) },
        { extra_params: { meta_only: "true" } },
      )) as unknown as EmailList;
      seen.push(...page.items.map((e) => e.provider_id));
      cursor = page.cursor;
      if (pages % 3 === 0) await deliver(`arrives while paging ${pages}`);
      pages++;
    } while (cursor && pages < 100);
    assert.equal(cursor, null);
    assert.equal(new Set(seen).size, seen.length, "no duplicates");
    for (const id of before) assert.ok(seen.includes(id), `gap: ${id} was never listed`);
  });

  it("50 parallel API calls for one account stay within Outlook's 4 concurrent requests", async () => {
    await fetch(`${h.sandbox.url}/_sandbox/stats/reset`, { method: "POST" });
    await scenario({ action: "latency", user: ADELE, ms: 20 });
    try {
      const list = (await client.email.getAll({ account_id: adeleId, limit: 5 })) as unknown as EmailList;
      const calls = Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? client.email.getOne(list.items[i % 5]!.id)
          : client.email.getAll({ account_id: adeleId, limit: 3 }),
      );
      await Promise.all(calls);
    } finally {
      await scenario({ action: "clear_faults", user: ADELE });
    }
    const peak = (await stats()).peak_concurrency[statsKey(ADELE)] ?? 0;
    assert.ok(peak >= 2 && peak <= 4, `peak concurrency ${peak}`);
  });

  it("throttling is honoured (Retry-After) and the call then succeeds", async () => {
    await scenario({ action: "throttle", user: ADELE, count: 2, retry_after: 0.2 });
    const list = (await client.email.getAll(
      { account_id: adeleId, limit: 2 },
      { extra_params: { meta_only: "true" } },
    )) as unknown as EmailList;
    assert.equal(list.items.length, 2);
  });

  it("an exhausted retry budget is 429 or 503 in Unipile's shape with Retry-After", async () => {
    await scenario({ action: "throttle", user: ADELE, count: 20, retry_after: 0.1 });
    try {
      const res = await api("GET", `/api/v1/folders?account_id=${adeleId}`);
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      const body = (await res.json()) as { status: number; type: string };
      assert.deepEqual([body.status, body.type], [429, "errors/too_many_requests"]);
    } finally {
      await scenario({ action: "clear_faults", user: ADELE });
    }
    await scenario({ action: "fail", user: ADELE, count: 20, status: 503 });
    try {
      const res = await api("GET", `/api/v1/folders?account_id=${adeleId}`);
      assert.equal(res.status, 503);
      assert.ok(res.headers.get("retry-after"));
      assert.equal(((await res.json()) as { type: string }).type, "errors/service_unavailable");
    } finally {
      await scenario({ action: "clear_faults", user: ADELE });
    }
  });

  it("a rejected access token (401 InvalidAuthenticationToken) is refreshed once and the call succeeds", async () => {
    await h.services.repos.accounts.update(adeleId, {
      access_token: h.services.secrets.encrypt("EwB-not-a-token-Microsoft-knows"),
    });
    const list = (await client.email.getAll({ account_id: adeleId, limit: 1 })) as unknown as EmailList;
    assert.equal(list.items.length, 1);
  });

  it("getAllFolders without account_id lists every account's folders (strict SDK validation), a page of accounts at a time", async () => {
    type FolderList = {
      object: string;
      items: { account_id: string; role: string }[];
      cursor?: string | null;
    };
    const all = (await client.email.getAllFolders()) as unknown as FolderList;
    assert.equal(all.object, "FolderList");
    assert.equal(all.cursor, null, "two accounts fit the default page");
    for (const id of [adeleId, meganId])
      assert.ok(
        all.items.some((f) => f.account_id === id && f.role === "inbox"),
        id,
      );

    const seen: string[] = [];
    let cursor: string | null | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = (await client.email.getAllFolders(
        {},
        { extra_params: { limit: "1", ...(cursor ? { cursor } : {}) } },
      )) as unknown as FolderList;
      const accounts = new Set(page.items.map((f) => f.account_id));
      assert.equal(accounts.size, 1, "limit counts accounts");
      seen.push(...accounts);
      cursor = page.cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen.sort(), [adeleId, meganId].sort());
  });

  it("GET /api/v1/folders: limit or cursor with account_id, or a foreign cursor, is 400", async () => {
    for (const url of [
      `/api/v1/folders?account_id=${adeleId}&limit=1`,
      `/api/v1/folders?account_id=${adeleId}&cursor=eyJ9`,
      "/api/v1/folders?cursor=bm90LWEtY3Vyc29y",
      "/api/v1/folders?limit=51",
    ]) {
      const res = await api("GET", url);
      assert.equal(res.status, 400, url);
      assert.equal(((await res.json()) as { type: string }).type, "errors/invalid_parameters", url);
    }
  });

  it("a CREDENTIALS account is 401 errors/disconnected_account without calling Microsoft", async () => {
    await h.services.repos.accounts.update(meganId, { status: "CREDENTIALS" });
    const before = (await stats()).requests[statsKey(MEGAN)] ?? 0;
    const err = await sdkError(client.email.getAll({ account_id: meganId }));
    assert.equal(err.status, 401);
    assert.equal(err.type, "errors/disconnected_account");
    const folders = await sdkError(client.email.getAllFolders({ account_id: meganId }));
    assert.equal(folders.type, "errors/disconnected_account");
    assert.equal((await stats()).requests[statsKey(MEGAN)] ?? 0, before);
  });

  it("every account's folders leave out an account that needs reconnecting, without calling Microsoft for it", async () => {
    await h.services.repos.accounts.update(meganId, { status: "OK" });
    await client.email.getAllFolders(); // her folders are cached now
    await h.services.repos.accounts.update(meganId, { status: "CREDENTIALS" });
    const before = (await stats()).requests[statsKey(MEGAN)] ?? 0;
    const all = (await client.email.getAllFolders()) as unknown as { items: { account_id: string }[] };
    assert.ok(all.items.some((f) => f.account_id === adeleId));
    assert.ok(!all.items.some((f) => f.account_id === meganId));
    assert.equal((await stats()).requests[statsKey(MEGAN)] ?? 0, before);
  });
});
