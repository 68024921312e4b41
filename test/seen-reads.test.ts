// When a read may be served as Mailroom last saw the mailbox (docs/adr/0008-email-cache.md, amendment).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type MailboxSeen, pageKey, seenVersion } from "../src/domain/email/seen-reads.ts";

describe("seenVersion", () => {
  const now = 1_000_000;
  const fresh: MailboxSeen = {
    status: "OK",
    delegate_account_id: null,
    mail_version: 7,
    last_sync_at: now - 10_000,
  };
  const cases: [string, MailboxSeen, number, number | undefined][] = [
    ["realtime synced 10 s ago, trusted 65 s", fresh, 65_000, 7],
    ["synced exactly at the window's edge", { ...fresh, last_sync_at: now - 65_000 }, 65_000, 7],
    ["synced just before the window", { ...fresh, last_sync_at: now - 65_001 }, 65_000, undefined],
    ["EMAIL_CACHE_REVALIDATE=each (no trust)", fresh, 0, undefined],
    ["no realtime row", { ...fresh, mail_version: null, last_sync_at: null }, 65_000, undefined],
    ["never synced", { ...fresh, last_sync_at: null }, 65_000, undefined],
    ["disconnected", { ...fresh, status: "CREDENTIALS" }, 65_000, undefined],
    [
      "a shared mailbox (another account's sign-in)",
      { ...fresh, delegate_account_id: "A1" },
      65_000,
      undefined,
    ],
    ["counter 0 is a count like any other", { ...fresh, mail_version: 0 }, 65_000, 0],
  ];
  for (const [name, mailbox, trustMs, expected] of cases)
    it(`${name}: ${expected === undefined ? "ask Graph" : `serve at ${expected}`}`, () => {
      assert.equal(seenVersion(mailbox, trustMs, now), expected);
    });
});

describe("pageKey", () => {
  it("differs whenever the kind, path, query or read state does", () => {
    const base = pageKey("2_full", "/me/messages", { $top: 50 }, { limit: 50 });
    assert.equal(pageKey("2_full", "/me/messages", { $top: 50 }, { limit: 50 }), base);
    for (const other of [
      pageKey("1_meta", "/me/messages", { $top: 50 }, { limit: 50 }),
      pageKey("2_full", "/me/mailFolders/X/messages", { $top: 50 }, { limit: 50 }),
      pageKey("2_full", "/me/messages", { $top: 50, $search: '"list"' }, { limit: 50 }),
      pageKey("2_full", "/me/messages", { $top: 50 }, { limit: 50, cursor: "c2" }),
    ])
      assert.notEqual(other, base);
  });
});
