import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  graphDate,
  type MessageFilter,
  messageFilter,
  odataString,
} from "../src/providers/microsoft/odata.ts";

describe("Graph message $filter", () => {
  const recipients = (literal: string) =>
    `toRecipients/any(r:r/emailAddress/address eq ${literal}) or ccRecipients/any(r:r/emailAddress/address eq ${literal}) or bccRecipients/any(r:r/emailAddress/address eq ${literal})`;
  const cases: { name: string; filter: MessageFilter; expected: string }[] = [
    {
      name: "with no criteria, every date from the epoch (receivedDateTime always leads)",
      filter: {},
      expected: "receivedDateTime ge 1970-01-01T00:00:00Z",
    },
    {
      name: "an upper bound in whole seconds, and a lower bound from an ISO date",
      filter: {
        receivedBefore: Date.parse("2026-03-01T10:00:01.500Z"),
        receivedAfter: "2026-02-01T00:00:00.999Z",
      },
      expected: "receivedDateTime lt 2026-03-01T10:00:01Z and receivedDateTime gt 2026-02-01T00:00:00Z",
    },
    {
      name: "flagged and important as Graph properties",
      filter: { flagged: true, important: true },
      expected:
        "receivedDateTime ge 1970-01-01T00:00:00Z and flag/flagStatus eq 'flagged' and importance eq 'high'",
    },
    {
      name: "sender, recipient, thread and Message-ID, with quotes doubled",
      filter: { from: "o'neil@x.test", to: "a@x.test", conversationId: "c1", internetMessageId: "<m@x>" },
      expected: `receivedDateTime ge 1970-01-01T00:00:00Z and from/emailAddress/address eq 'o''neil@x.test' and (${recipients("'a@x.test'")}) and conversationId eq 'c1' and internetMessageId eq '<m@x>'`,
    },
    {
      name: "any party: sender or any recipient, for each address",
      filter: { anyParty: ["a@x.test", "b@x.test"] },
      expected: `receivedDateTime ge 1970-01-01T00:00:00Z and (from/emailAddress/address eq 'a@x.test' or ${recipients("'a@x.test'")} or from/emailAddress/address eq 'b@x.test' or ${recipients("'b@x.test'")})`,
    },
    {
      name: "an empty any-party list adds nothing",
      filter: { anyParty: [] },
      expected: "receivedDateTime ge 1970-01-01T00:00:00Z",
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(messageFilter(c.filter), c.expected));

  it("quotes string literals and writes dates without milliseconds", () => {
    assert.equal(odataString("it's"), "'it''s'");
    assert.equal(graphDate("2026-01-02T03:04:05.678Z"), "2026-01-02T03:04:05Z");
  });
});
