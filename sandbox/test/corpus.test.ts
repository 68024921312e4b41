import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { addressesIn, type CorpusMessage, type LoadCorpusOptions, loadCorpus } from "../src/corpus/index.ts";

const NOW = Date.parse("2026-03-02T09:00:00Z");
const OPTIONS: LoadCorpusOptions = {
  size: 300,
  seed: "corpus-test",
  now: NOW,
  domains: { work: ["contoso.example", "fabrikam.example"], personal: ["outlook.example"] },
  people: [
    { name: "Adele Vance", address: "adele@contoso.example" },
    { name: "Megan Bowen", address: "megan@contoso.example" },
    { name: "Kai Personal", address: "kai@outlook.example" },
  ],
  owner: { name: "Adele Vance", address: "adele@contoso.example" },
};
const SANDBOX_DOMAINS = new Set([...OPTIONS.domains.work, ...OPTIONS.domains.personal]);

let firstLoadMs = 0;
async function corpus(): Promise<CorpusMessage[]> {
  const started = performance.now();
  const messages = await loadCorpus(OPTIONS);
  if (!firstLoadMs) firstLoadMs = performance.now() - started;
  return messages;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

describe("sandbox corpus", () => {
  test("returns exactly the requested number of messages, oldest first, dated up to now", async (t) => {
    const messages = await corpus();
    t.diagnostic(`first loadCorpus(size 300) took ${firstLoadMs.toFixed(0)} ms`);
    assert.equal(messages.length, 300);
    for (let i = 1; i < messages.length; i++)
      assert.ok(messages[i]!.receivedAt >= messages[i - 1]!.receivedAt);
    const newest = messages.at(-1)!.receivedAt;
    assert.ok(newest <= NOW && newest > NOW - 3 * 3_600_000, "newest message is recent");
    assert.equal((await loadCorpus({ ...OPTIONS, size: 4 })).length, 4);
    assert.equal((await loadCorpus({ ...OPTIONS, size: 0 })).length, 0);
  });

  test("files ham into Inbox, Archive and custom folders, spam into Junk Email, the owner's mail into Sent Items", async (t) => {
    const messages = await corpus();
    const folders = countBy(messages, (m) => m.folder);
    t.diagnostic(`folders: ${JSON.stringify(Object.fromEntries(folders))}`);
    for (const folder of [
      "inbox",
      "archive",
      "junkemail",
      "sentitems",
      "Projects",
      "Projects/Mailroom",
      "Newsletters",
    ]) {
      assert.ok((folders.get(folder) ?? 0) > 0, `folder ${folder} has messages`);
    }
    assert.ok((folders.get("inbox") ?? 0) > (folders.get("junkemail") ?? 0), "a little spam, mostly ham");
    for (const message of messages.filter((m) => m.folder === "sentitems")) {
      assert.equal(message.from.address, OPTIONS.owner.address);
      assert.equal(message.isRead, true);
    }
    assert.ok(messages.some((m) => !m.isRead) && messages.some((m) => m.flagged));
    assert.ok(new Set(messages.map((m) => m.importance)).size >= 2);
  });

  test("keeps threads: replies point at messages of the same conversation", async () => {
    const messages = await corpus();
    const byId = new Map(messages.map((m) => [m.internetMessageId, m]));
    assert.equal(byId.size, messages.length, "internetMessageId is unique");
    const linked = messages.filter((m) => m.inReplyTo && byId.has(m.inReplyTo));
    assert.ok(linked.length >= 20, `replies whose parent is present: ${linked.length}`);
    for (const reply of linked)
      assert.equal(byId.get(reply.inReplyTo!)!.conversationKey, reply.conversationKey);
    const sizes = [...countBy(messages, (m) => m.conversationKey).values()];
    assert.ok(sizes.filter((n) => n >= 3).length >= 5, "several threads of 3+ messages");
    const ownerInThread = messages.some(
      (m) =>
        m.folder === "sentitems" && messages.some((o) => o !== m && o.conversationKey === m.conversationKey),
    );
    assert.ok(ownerInThread, "the owner takes part in threads");
  });

  test("covers non-ASCII subjects and names, inline images, a large attachment, HTML-only and text-only bodies", async () => {
    const messages = await corpus();
    const subjects = messages.map((m) => m.subject);
    assert.ok(subjects.includes("Réunion d'équipe — café ☕"));
    assert.ok(
      subjects.some((s) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(s)),
      "Japanese subject",
    );
    assert.ok(
      subjects.some((s) => /[\u0600-\u06ff]/.test(s)),
      "Arabic subject",
    );
    assert.ok(
      messages.some((m) => /[^\x20-\x7e]/.test(m.from.name ?? "")),
      "non-ASCII sender name",
    );

    const inline = messages.find((m) => m.attachments.some((a) => a.isInline && a.contentId));
    assert.ok(inline, "a message with an inline image");
    const image = inline.attachments.find((a) => a.isInline)!;
    assert.match(image.contentType, /^image\//);
    assert.ok(inline.bodyHtml?.includes(`cid:${image.contentId}`), "HTML references the inline image by cid");

    const large = messages.flatMap((m) => m.attachments).find((a) => a.content.length >= 3.5 * 1024 * 1024);
    assert.ok(large, "an attachment of about 4 MB");
    assert.equal(large.content.subarray(0, 5).toString("latin1"), "%PDF-");

    assert.ok(
      messages.some((m) => m.bodyHtml && m.bodyText === undefined),
      "HTML-only mail",
    );
    assert.ok(
      messages.some((m) => m.bodyText && m.bodyHtml === undefined),
      "text-only mail",
    );
  });

  test("rewrites every address (fields, headers, bodies, message ids) into sandbox domains", async () => {
    const messages = await corpus();
    const outside = new Set<string>();
    for (const message of messages) {
      for (const address of [...addressesIn(message), message.internetMessageId.replace(/[<>]/g, "")]) {
        const domain = address.slice(address.lastIndexOf("@") + 1).toLowerCase();
        if (!SANDBOX_DOMAINS.has(domain)) outside.add(address);
      }
    }
    assert.deepEqual([...outside].slice(0, 10), []);
    const people = new Set(OPTIONS.people.map((p) => p.address));
    assert.ok(
      messages.some((m) => m.from.address !== OPTIONS.owner.address && people.has(m.from.address)),
      "some correspondents are sandbox users",
    );
  });

  test("is deterministic for a seed and varies with the seed", async () => {
    const first = await loadCorpus(OPTIONS);
    const second = await loadCorpus(OPTIONS);
    assert.deepEqual(second, first);
    const other = await loadCorpus({ ...OPTIONS, seed: "another-seed" });
    assert.notDeepEqual(
      other.map((m) => m.internetMessageId),
      first.map((m) => m.internetMessageId),
    );
  });
});
