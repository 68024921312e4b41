// The spool behind streamed attachments (src/lib/spool.ts): small files in memory within the
// budget, the rest on disk; a range reads back exactly its bytes (upload chunks must be exact), and
// dispose removes every temporary file, also after a read stopped by a limit.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";
import { Spool } from "../src/lib/spool.ts";

async function* chunks(total: number, size: number) {
  for (let at = 0; at < total; at += size) {
    const piece = Buffer.alloc(Math.min(size, total - at));
    for (let i = 0; i < piece.length; i++) piece[i] = (at + i) & 0xff;
    yield piece;
  }
}
const spoolDirs = async () => (await readdir(tmpdir())).filter((n) => n.startsWith("mailroom-upload-"));

describe("Spool", () => {
  it("keeps a small file in memory and writes a large one, or one past the budget, to disk", async () => {
    const before = (await spoolDirs()).length;
    const spool = new Spool({ memoryFileBytes: 1000, memoryBudgetBytes: 1500 });
    const small = await spool.add(chunks(900, 100));
    assert.equal((await spoolDirs()).length, before, "nothing on disk yet");
    const overBudget = await spool.add(chunks(900, 100));
    const large = await spool.add(chunks(5000, 333));
    assert.equal((await spoolDirs()).length, before + 1);
    for (const [file, size] of [
      [small, 900],
      [overBudget, 900],
      [large, 5000],
    ] as const) {
      assert.equal(file.size, size);
      const whole = await file.bytes();
      assert.equal(whole.length, size);
      assert.ok(whole.every((b, i) => b === (i & 0xff)));
    }
    await spool.dispose();
    assert.equal((await spoolDirs()).length, before);
  });

  it("reads a range back as exactly its bytes, from memory and from disk, pieces kept valid", async () => {
    const spool = new Spool({ memoryFileBytes: 1000, memoryBudgetBytes: 1000 });
    const small = await spool.add(chunks(900, 100));
    const large = await spool.add(chunks(300_000, 777));
    for (const [file, start, end] of [
      [small, 0, 900],
      [small, 100, 350],
      [large, 0, 300_000],
      [large, 4096, 200_001],
      [large, 299_999, 300_000],
      [large, 5, 5],
    ] as const) {
      const pieces: Buffer[] = [];
      for await (const piece of file.range(start, end)) pieces.push(piece);
      // Kept pieces are still the file's bytes after the read went on: none was reused.
      const got = Buffer.concat(pieces);
      assert.equal(got.length, end - start);
      assert.ok(
        got.every((b, i) => b === ((start + i) & 0xff)),
        `${start}-${end}`,
      );
    }
    await spool.dispose();
  });

  it("a read stopped by its limit throws, and dispose still removes what was written", async () => {
    const before = (await spoolDirs()).length;
    const spool = new Spool({ memoryFileBytes: 10, memoryBudgetBytes: 10 });
    let seen = 0;
    await assert.rejects(
      spool.add(chunks(10_000, 1000), (n) => {
        seen += n;
        if (seen > 5000) throw new Error("too large");
      }),
      /too large/,
    );
    await spool.dispose();
    assert.equal((await spoolDirs()).length, before);
  });
  it("reads a range at once: a view of a file in memory, into the lent buffer from disk; past the end fails", async () => {
    const spool = new Spool({ memoryFileBytes: 1000, memoryBudgetBytes: 1000 });
    const small = await spool.add(chunks(900, 100));
    const large = await spool.add(chunks(300_000, 777));
    const lent = Buffer.alloc(200_000, 0xee);
    let lends = 0;
    const lend = () => {
      lends++;
      return lent;
    };
    const fromMemory = await small.read(100, 350, lend);
    assert.equal(lends, 0, "a file in memory needs no buffer");
    assert.ok(fromMemory.length === 250 && fromMemory.every((b, i) => b === ((100 + i) & 0xff)));
    for (const [start, end] of [
      [0, 200_000],
      [4096, 204_096],
      [299_999, 300_000],
    ] as const) {
      const got = await large.read(start, end, lend);
      assert.equal(got.length, end - start);
      assert.ok(
        got.every((b, i) => b === ((start + i) & 0xff)),
        `${start}-${end}`,
      );
      assert.equal(got.buffer, lent.buffer, "read into the lent buffer");
    }
    await assert.rejects(large.read(299_000, 300_001, lend), /ends after 300000 bytes/);
    await assert.rejects(small.read(0, 901, lend), /ends after 900 bytes/);
    await assert.rejects(
      large.read(0, 200_001, () => Buffer.alloc(10)),
      /cannot hold/,
    );
    await spool.dispose();
  });
  it("computes the SHA-256 of a file as it arrives when asked, in memory and on disk alike", async () => {
    const spool = new Spool({ memoryFileBytes: 1000, memoryBudgetBytes: 1000 });
    const expected = async (file: { bytes(): Promise<Buffer> }) =>
      createHash("sha256")
        .update(await file.bytes())
        .digest("hex");
    const small = await spool.add(chunks(900, 100), undefined, { sha256: true });
    const large = await spool.add(chunks(300_000, 777), undefined, { sha256: true });
    const plain = await spool.add(chunks(5_000, 333));
    assert.equal(small.sha256, await expected(small));
    assert.equal(large.sha256, await expected(large));
    assert.equal(plain.sha256, undefined, "not computed unless asked");
    await spool.dispose();
  });
});
