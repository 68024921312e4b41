// Single-value extended properties of messages as Graph v1.0 has them: set in the body of draft
// creation, PATCH, sendMail and createReply; read with
// `$expand=singleValueExtendedProperties($filter=id eq '…')` on lists and single messages; absent
// from a message that has none of the asked properties. PidTagInReplyToId (`String 0x1042`) is what
// Exchange holds for In-Reply-To: set on replies it builds and on delivered mail that carries the header.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { until } from "../../test/support/until.ts";
import type { SandboxUser } from "../src/state.ts";
import {
  type GraphHarness,
  type GraphMessage,
  message,
  type Page,
  startGraphHarness,
} from "./graph-helpers.ts";

const IMMUTABLE = 'IdType="ImmutableId"';
const TAG = "String {5b2c1d3e-8f4a-4c6b-9e0d-7a1f2b3c4d5e} Name ExampleTag";
const IN_REPLY_TO = "String 0x1042";
const expand = (...ids: string[]) =>
  `$expand=${encodeURIComponent(`singleValueExtendedProperties($filter=${ids.map((id) => `id eq '${id}'`).join(" or ")})`)}`;

type WithProps = GraphMessage & { singleValueExtendedProperties?: { id: string; value: string }[] };

describe("Graph mail: singleValueExtendedProperties", () => {
  let h: GraphHarness;
  let alice: SandboxUser;
  let bob: SandboxUser;
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    h = await startGraphHarness();
    alice = h.addUser("alice");
    bob = h.addUser("bob");
    aliceToken = h.token(alice);
    bobToken = h.token(bob);
  });
  after(async () => h.sandbox.close());

  async function find(token: string, folder: string, subject: string): Promise<WithProps> {
    return until(`"${subject}" in ${folder}`, async () => {
      const page = await h.json<Page<WithProps>>(
        token,
        `/me/mailFolders/${folder}/messages?$filter=${encodeURIComponent(`subject eq '${subject}'`)}&$select=id,subject,internetMessageId&${expand(TAG, IN_REPLY_TO)}`,
        { prefer: IMMUTABLE },
      );
      return page.value[0];
    });
  }

  test("a property set on a draft is returned by the filtered $expand on get and list, and kept by /send", async () => {
    const draft = await h.json<WithProps>(aliceToken, "/me/messages", {
      method: "POST",
      prefer: IMMUTABLE,
      body: JSON.stringify(
        message("Tagged", [bob.email], { singleValueExtendedProperties: [{ id: TAG, value: "t-1" }] }),
      ),
    });
    assert.equal(draft.singleValueExtendedProperties, undefined, "not returned unless expanded");
    const got = await h.json<WithProps>(aliceToken, `/me/messages/${draft.id}?$select=id&${expand(TAG)}`, {
      prefer: IMMUTABLE,
    });
    assert.deepEqual(got.singleValueExtendedProperties, [{ id: TAG, value: "t-1" }]);
    assert.match(String(got["@odata.context"]), /singleValueExtendedProperties\(\)\)\/\$entity$/);

    const send = await h.call(aliceToken, `/me/messages/${draft.id}/send`, { method: "POST" });
    assert.equal(send.status, 202);
    const sent = await find(aliceToken, "sentitems", "Tagged");
    assert.equal(sent.id, draft.id, "the sent item is the draft (same immutable id)");
    assert.deepEqual(sent.singleValueExtendedProperties, [{ id: TAG, value: "t-1" }]);
    const received = await find(bobToken, "inbox", "Tagged");
    assert.equal(
      received.singleValueExtendedProperties,
      undefined,
      "the recipient's copy has no member at all: the sender's named properties do not travel",
    );
  });

  test("PATCH adds a property and keeps the others; a GUID matches in either case", async () => {
    const other = "String {5B2C1D3E-8F4A-4C6B-9E0D-7A1F2B3C4D5E} Name Other";
    const draft = await h.json<WithProps>(aliceToken, "/me/messages", {
      method: "POST",
      prefer: IMMUTABLE,
      body: JSON.stringify(
        message("Patched", [bob.email], { singleValueExtendedProperties: [{ id: TAG, value: "a" }] }),
      ),
    });
    await h.json(aliceToken, `/me/messages/${draft.id}`, {
      method: "PATCH",
      body: JSON.stringify({ singleValueExtendedProperties: [{ id: other, value: "b" }] }),
    });
    const got = await h.json<WithProps>(
      aliceToken,
      `/me/messages/${draft.id}?$select=id&${expand(
        TAG,
        other.replace(/\{.*\}/, (guid) => guid.toLowerCase()),
      )}`,
      { prefer: IMMUTABLE },
    );
    assert.deepEqual(
      got.singleValueExtendedProperties?.map((p) => p.value),
      ["a", "b"],
    );
  });

  test("sendMail keeps the properties on the Sent Items copy", async () => {
    const response = await h.call(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({
        message: message("Direct", [bob.email], { singleValueExtendedProperties: [{ id: TAG, value: "d" }] }),
      }),
    });
    assert.equal(response.status, 202);
    const sent = await find(aliceToken, "sentitems", "Direct");
    assert.deepEqual(sent.singleValueExtendedProperties, [{ id: TAG, value: "d" }]);
  });

  test("a reply carries PidTagInReplyToId: on the createReply draft, the sent item and the delivered copy", async () => {
    const original = await h.call(bobToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({ message: message("Question", [alice.email]) }),
    });
    assert.equal(original.status, 202);
    const parent = await find(aliceToken, "inbox", "Question");
    assert.equal(parent.singleValueExtendedProperties, undefined, "a first message has no In-Reply-To");

    const draft = await h.json<WithProps>(aliceToken, `/me/messages/${parent.id}/createReply`, {
      method: "POST",
      prefer: IMMUTABLE,
      body: JSON.stringify({ message: { singleValueExtendedProperties: [{ id: TAG, value: "r" }] } }),
    });
    const got = await h.json<WithProps>(
      aliceToken,
      `/me/messages/${draft.id}?$select=id&${expand(IN_REPLY_TO, TAG)}`,
      { prefer: IMMUTABLE },
    );
    assert.deepEqual(got.singleValueExtendedProperties, [
      { id: IN_REPLY_TO, value: parent.internetMessageId },
      { id: TAG, value: "r" },
    ]);
    await h.call(aliceToken, `/me/messages/${draft.id}/send`, { method: "POST" });
    const delivered = await find(bobToken, "inbox", "RE: Question");
    assert.deepEqual(delivered.singleValueExtendedProperties, [
      { id: IN_REPLY_TO, value: parent.internetMessageId },
    ]);
  });

  test("the expand is refused without $filter and with a malformed id (400)", async () => {
    for (const query of [
      "$expand=singleValueExtendedProperties",
      `$expand=${encodeURIComponent("singleValueExtendedProperties($filter=id eq 'Strin 0x1042')")}`,
      `$expand=${encodeURIComponent("singleValueExtendedProperties($filter=value eq 'x')")}`,
    ]) {
      const response = await h.call(aliceToken, `/me/messages?${query}`);
      assert.equal(response.status, 400, query);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(typeof body.error.code, "string");
    }
    const bad = await h.call(aliceToken, "/me/messages", {
      method: "POST",
      body: JSON.stringify(
        message("Bad", [bob.email], { singleValueExtendedProperties: [{ id: "Nope 0x1", value: "x" }] }),
      ),
    });
    assert.equal(bad.status, 400);
  });

  test("attachments and extended properties expand together, in the order asked", async () => {
    const page = await h.json<Page<WithProps>>(
      aliceToken,
      `/me/mailFolders/sentitems/messages?$select=id,subject&$expand=${encodeURIComponent(`singleValueExtendedProperties($filter=id eq '${TAG}'),attachments($select=id,name)`)}`,
    );
    const tagged = page.value.find((m) => m.subject === "Direct");
    assert.ok(tagged);
    assert.deepEqual(Object.keys(tagged).slice(-2), ["singleValueExtendedProperties", "attachments"]);
  });
});
