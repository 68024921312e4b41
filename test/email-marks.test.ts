// Mailroom's sent mark (origin, tracking_id) and the memory of reply parents, as pure units.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KnownParents } from "../src/domain/email/reply-parents.ts";
import { readSentMark, sentMark } from "../src/domain/email/sent-mark.ts";

describe("sent mark", () => {
  it("reads back the tracking id for the mailbox that sent, whatever the address's case", () => {
    const mark = sentMark("Adele.Vance@contoso.example", "Z-4Nx5bMR86b9NVCloU1gg");
    assert.equal(readSentMark("adele.vance@contoso.example", mark), "Z-4Nx5bMR86b9NVCloU1gg");
  });

  it("a copy in another mailbox, a foreign value or no value is not mail sent through the API", () => {
    const mark = sentMark("adele@contoso.example", "abc");
    assert.equal(readSentMark("megan@contoso.example", mark), undefined);
    for (const value of [undefined, "", "abc", "v1..x", "v2.abc.tag", `${mark}.more`, "v1.a b.tag"])
      assert.equal(readSentMark("adele@contoso.example", value), undefined, String(value));
  });
});

describe("known reply parents", () => {
  it("remembers found parents per account, and parents not found only for a few minutes", () => {
    let now = 0;
    const known = new KnownParents(() => now);
    known.set("a", "<p@x>", "graph-1");
    known.set("a", "<q@x>", null);
    assert.equal(known.get("a", "<p@x>"), "graph-1");
    assert.equal(known.get("b", "<p@x>"), undefined, "per account");
    assert.equal(known.get("a", "<q@x>"), null);
    now += 5 * 60_000;
    assert.equal(known.get("a", "<q@x>"), undefined, "asked again once the time is up");
    assert.equal(known.get("a", "<p@x>"), "graph-1", "an immutable id stays");
  });
});
