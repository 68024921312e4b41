// Pure parts of the MIME path: which headers force MIME or are refused, and the message built for
// Graph (parsed back with mailparser, as a receiving system would).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { checkCustomHeaders } from "../src/domain/email/custom-headers.ts";
import { buildMime, replySubject, threadingHeaders } from "../src/domain/email/mime-message.ts";
import { isAppError } from "../src/lib/errors.ts";

describe("custom headers: the JSON message, MIME, or refused", () => {
  const cases: [string, { name: string; value: string }[], "json" | "mime" | RegExp][] = [
    ["none", [], "json"],
    [
      "X- headers",
      [
        { name: "X-Campaign", value: "q3" },
        { name: "x-lower", value: "1" },
      ],
      "json",
    ],
    ["Reply-To", [{ name: "reply-to", value: "a@example.com" }], "json"],
    ["List-Unsubscribe", [{ name: "List-Unsubscribe", value: "<mailto:u@example.com>" }], "mime"],
    [
      "List-Unsubscribe-Post beside an X- header",
      [
        { name: "X-A", value: "1" },
        { name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click" },
      ],
      "mime",
    ],
    ["Precedence", [{ name: "Precedence", value: "bulk" }], "mime"],
    ["Subject", [{ name: "Subject", value: "x" }], /"Subject" is set by Mailroom/],
    ["Resent-To", [{ name: "Resent-To", value: "x" }], /"Resent-To" is set/],
    ["ARC-Seal", [{ name: "ARC-Seal", value: "x" }], /"ARC-Seal" is set/],
    ["DKIM-Signature", [{ name: "DKIM-Signature", value: "x" }], /"DKIM-Signature" is set/],
    ["a tab in the name", [{ name: "X-\tA", value: "x" }], /is not a header name/],
    ["NUL in the value", [{ name: "X-A", value: "a\0b" }], /line break or NUL/],
    ["an over-long value", [{ name: "X-A", value: "a".repeat(9000) }], /over 8192/],
  ];
  for (const [name, headers, expected] of cases)
    it(`${name} → ${expected instanceof RegExp ? "422 invalid_headers" : expected}`, () => {
      if (!(expected instanceof RegExp)) return assert.equal(checkCustomHeaders(headers), expected);
      assert.throws(
        () => checkCustomHeaders(headers),
        (e: unknown) =>
          isAppError(e) && e.code === "invalid_headers" && e.status === 422 && expected.test(e.detail ?? ""),
      );
    });
});

describe("the MIME message", () => {
  it("replies as createReply would: RE: subject, In-Reply-To and References from the parent", () => {
    assert.equal(replySubject("Lunch"), "RE: Lunch");
    assert.equal(replySubject("Re: Lunch"), "Re: Lunch");
    assert.deepEqual(
      threadingHeaders({ internetMessageId: "<p@x>", references: ["<a@x>", "<b@x>"], subject: "" }),
      {
        inReplyTo: "<p@x>",
        references: ["<a@x>", "<b@x>", "<p@x>"],
      },
    );
  });

  it("carries the fields, the custom headers verbatim, Bcc and the threading headers", async () => {
    const mime = await buildMime({
      from: { address: "adele@contoso.com", name: "Adele Vance" },
      to: [{ address: "megan@contoso.com", name: "Megan" }],
      cc: [{ address: "cc@example.com" }],
      bcc: [{ address: "hidden@example.com" }],
      body: "<p>Héllo</p>",
      isHtml: true,
      headers: [
        { name: "List-Unsubscribe", value: "<https://example.com/u?id=1&x=2>, <mailto:u@example.com>" },
        { name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click" },
        { name: "Reply-To", value: "news@contoso.com" },
        { name: "X-Note", value: "café" },
      ],
      replyTo: { internetMessageId: "<parent@x>", references: ["<root@x>"], subject: "Signup" },
    });
    assert.match(
      mime.toString("latin1"),
      /(?:^|\r\n)List-Unsubscribe: <https:\/\/example\.com\/u\?id=1&x=2>, <mailto:u@example\.com>\r\n/,
    );
    const parsed = await simpleParser(mime);
    assert.equal(parsed.subject, "RE: Signup");
    assert.equal(parsed.inReplyTo, "<parent@x>");
    assert.deepEqual(parsed.references, ["<root@x>", "<parent@x>"]);
    assert.deepEqual(
      parsed.headerLines.filter((l) => l.key === "list-unsubscribe-post").map((l) => l.line),
      ["List-Unsubscribe-Post: List-Unsubscribe=One-Click"],
    );
    // Non-ASCII values travel as RFC 2047 encoded words.
    assert.equal(parsed.headers.get("x-note"), "=?UTF-8?Q?caf=C3=A9?=");
    assert.equal((parsed.bcc as { value: { address: string }[] }).value[0]!.address, "hidden@example.com");
    assert.equal((parsed.replyTo as { value: { address: string }[] }).value[0]!.address, "news@contoso.com");
    assert.match(String(parsed.html), /<p>Héllo<\/p>/);
  });
});
