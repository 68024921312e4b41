// Every place that takes an email id also takes Unipile's documented provider-id forms: the JSON
// `{"message_id":"<…>","uid":"…"}` (uid = the Graph message id) and an RFC 822 Message-ID, resolved
// by a filtered internetMessageId query; unknown or ambiguous → 404 (reply_to: 422
// parent_mail_not_found, as for any unknown parent).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { parseEmailRef } from "../src/domain/email/email-ids.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

describe("email id forms (pure)", () => {
  const cases: [string, string, unknown][] = [
    ["a Mailroom id", "acc_1.AAMkAD-_=", { accountId: "acc_1", graphId: "AAMkAD-_=" }],
    ["a bare provider id", "AAMkAD-_=", { graphId: "AAMkAD-_=" }],
    ["an escaped provider id", "AAMk~2fAD", { graphId: "AAMk/AD" }],
    ["the JSON form", '{"message_id":"<a@b.c>","uid":"AQMkADAw="}', { graphId: "AQMkADAw=" }],
    ["the JSON form with spaces", ' { "uid" : "AAMk1" } ', { graphId: "AAMk1" }],
    ["the JSON form without uid", '{"message_id":"<a@b.c>"}', { messageId: "<a@b.c>" }],
    ["the JSON form with an empty uid", '{"message_id":"<a@b.c>","uid":""}', { messageId: "<a@b.c>" }],
    ["an RFC 822 Message-ID", "<CAF=x.1@mail.example.com>", { messageId: "<CAF=x.1@mail.example.com>" }],
    ["a Message-ID without brackets", "CAF.1@mail.example.com", { messageId: "<CAF.1@mail.example.com>" }],
    ["a Message-ID with spaces around", "  <a@b>  ", { messageId: "<a@b>" }],
    ["malformed JSON", '{"uid":', undefined],
    ["JSON that is not an object", "{}", undefined],
    ["JSON with neither", '{"message_id":"not-an-id"}', undefined],
    ["a Message-ID with a space inside", "<a b@c>", undefined],
    ["brackets without @", "<abc>", undefined],
    ["an id with a slash", "AAMk/AD", undefined],
    ["empty", "", undefined],
  ];
  for (const [name, input, expected] of cases)
    it(`${name}: ${JSON.stringify(input)}`, () => assert.deepEqual(parseEmailRef(input), expected));
});

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
type Email = Record<string, unknown> & {
  id: string;
  subject: string;
  message_id: string;
  provider_id: string;
  thread_id?: string;
  read_date: string | null;
  role: string;
  attachments: { id: string; name: string }[];
};

describe("email id forms through the API and the sandbox", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  let meganId: string;
  let mail: Email;

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${h.baseUrl}${path}`, {
      method,
      headers: {
        "x-api-key": h.t.apiKey,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const inboxOf = (accountId: string, subject: string) =>
    until(`"${subject}" in the inbox`, async () => {
      const list = (await client.email.getAll({
        account_id: accountId,
        role: "inbox",
        limit: 20,
      })) as unknown as {
        items: Email[];
      };
      return list.items.find((e) => e.subject === subject);
    });
  const jsonForm = (e: Email) => JSON.stringify({ message_id: e.message_id, uid: e.provider_id });
  const enc = encodeURIComponent;

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: false });
    client = new UnipileClient(h.baseUrl, h.t.apiKey, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
    const ids = await h.connectMailboxes([ADELE, MEGAN]);
    adeleId = ids[ADELE]!;
    meganId = ids[MEGAN]!;
    await client.email.send({
      account_id: meganId,
      to: [{ identifier: ADELE }],
      subject: "Id forms",
      body: "hello",
      attachments: [["form.txt", Buffer.from("form")]],
    });
    mail = await inboxOf(adeleId, "Id forms");
  });
  after(async () => {
    await h.dispose();
  });

  it("the SDK's getOne.byProviderId takes an RFC 822 Message-ID (strict validation)", async () => {
    const byMessageId = (await client.email.getOne.byProviderId(
      mail.message_id,
      adeleId,
    )) as unknown as Email;
    assert.equal(byMessageId.id, mail.id);
  });

  it("GET /emails/{id} takes the JSON form, a Message-ID with or without brackets, percent-encoded", async () => {
    for (const form of [
      jsonForm(mail),
      mail.message_id,
      mail.message_id.slice(1, -1),
      JSON.stringify({ message_id: mail.message_id }),
    ]) {
      const res = await call("GET", `/api/v1/emails/${enc(form)}?account_id=${adeleId}`);
      assert.equal(res.status, 200, `${form}: ${await res.clone().text()}`);
      assert.equal(((await res.json()) as Email).id, mail.id);
    }
  });

  it("an attachment is downloaded through the Message-ID form", async () => {
    const res = await call(
      "GET",
      `/api/v1/emails/${enc(mail.message_id)}/attachments/${mail.attachments[0]!.id}?account_id=${adeleId}`,
    );
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "form");
  });

  it("PUT /emails/{id} updates through the JSON form", async () => {
    const res = await call("PUT", `/api/v1/emails/${enc(jsonForm(mail))}?account_id=${adeleId}`, {
      unread: false,
    });
    assert.equal(res.status, 200);
    const after = (await client.email.getOne(mail.id)) as unknown as Email;
    assert.notEqual(after.read_date, null);
  });

  it("reply_to takes a Message-ID and draft_id the JSON form", async () => {
    await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "RE: Id forms",
      body: "replied by Message-ID",
      reply_to: mail.message_id,
    });
    const reply = await inboxOf(meganId, "RE: Id forms");
    assert.equal(reply.thread_id, (await inboxOf(adeleId, "Id forms")).thread_id);
    const draft = await call("POST", "/api/v1/drafts", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Drafted by uid",
      body: "x",
    });
    const { draft_id } = (await draft.json()) as { draft_id: string };
    const provider = draft_id.slice(draft_id.indexOf(".") + 1);
    const sent = await call("POST", "/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      body: "x",
      draft_id: JSON.stringify({ message_id: "<unused@x>", uid: provider }),
    });
    assert.equal(sent.status, 201, await sent.clone().text());
    await inboxOf(meganId, "Drafted by uid");
  });

  it("an unknown Message-ID is 404 (reply_to: 422 parent_mail_not_found); one without account_id is 404 saying so", async () => {
    const unknown = await call(
      "GET",
      `/api/v1/emails/${enc("<nobody@nowhere.example>")}?account_id=${adeleId}`,
    );
    assert.equal(unknown.status, 404);
    const body = (await unknown.json()) as { type: string; detail: string; status: number };
    assert.deepEqual([body.status, body.type], [404, "errors/resource_not_found"]);
    assert.match(body.detail, /<nobody@nowhere\.example> not found/);
    const noAccount = await call("GET", `/api/v1/emails/${enc(mail.message_id)}`);
    assert.equal(noAccount.status, 404);
    assert.match(((await noAccount.json()) as { detail: string }).detail, /needs \?account_id=/);
    const reply = await call("POST", "/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      body: "x",
      reply_to: "<nobody@nowhere.example>",
    });
    assert.equal(reply.status, 422);
    assert.equal(((await reply.json()) as { type: string }).type, "errors/parent_mail_not_found");
  });

  it("a Message-ID naming two messages (mail to oneself: Sent Items and Inbox) is 404, not a guess", async () => {
    await client.email.send({
      account_id: adeleId,
      to: [{ identifier: ADELE }],
      subject: "Note to self",
      body: "x",
    });
    const copy = await inboxOf(adeleId, "Note to self");
    await until("the sent copy", async () => {
      const sent = (await client.email.getAll({
        account_id: adeleId,
        role: "sent",
        limit: 20,
      })) as unknown as { items: Email[] };
      return sent.items.find((e) => e.subject === "Note to self");
    });
    const res = await call("GET", `/api/v1/emails/${enc(copy.message_id)}?account_id=${adeleId}`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { detail: string }).detail, /more than one message/);
  });

  it("DELETE /emails/{id} takes the Message-ID form", async () => {
    const res = await call("DELETE", `/api/v1/emails/${enc(mail.message_id)}?account_id=${adeleId}`);
    assert.equal(res.status, 200);
    const after = (await client.email.getOne(mail.id)) as unknown as Email;
    assert.equal(after.role, "trash");
  });
});
