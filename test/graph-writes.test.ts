// Which Graph calls may change a mailbox (docs/adr/0008-email-cache.md): those are announced, so reads
// in every process stop serving pages cached before them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changesMailbox, type GraphRequest } from "../src/providers/microsoft/graph-request.ts";

describe("changesMailbox", () => {
  const cases: [string, GraphRequest, boolean][] = [
    ["a read", { path: "/me/messages" }, false],
    ["an explicit GET", { method: "GET", path: "/me/messages/AAA" }, false],
    ["a new draft", { method: "POST", path: "/me/messages", body: {} }, true],
    ["a send", { method: "POST", path: "/me/messages/AAA/send" }, true],
    ["an update", { method: "PATCH", path: "/me/messages/AAA", body: { isRead: true } }, true],
    ["a delete", { method: "DELETE", path: "/me/messages/AAA" }, true],
    ["an upload session", { method: "POST", path: "/me/messages/AAA/attachments/createUploadSession" }, true],
    [
      "a $batch of reads",
      { method: "POST", path: "/$batch", body: { requests: [{ method: "GET" }, {}] } },
      false,
    ],
    [
      "a $batch with a write",
      { method: "POST", path: "/$batch", body: { requests: [{ method: "GET" }, { method: "PATCH" }] } },
      true,
    ],
    ["a new subscription", { method: "POST", path: "/subscriptions", body: {} }, false],
    ["a subscription renewed", { method: "PATCH", path: "/subscriptions/S1", body: {} }, false],
    ["a subscription removed", { method: "DELETE", path: "/subscriptions/S1" }, false],
  ];
  for (const [name, request, expected] of cases)
    it(`${name}: ${expected ? "may change the mailbox" : "does not"}`, () => {
      assert.equal(changesMailbox(request), expected);
    });
});
