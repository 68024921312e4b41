// The pool behind upload chunks (src/lib/buffer-pool.ts): the same buffers come back, at most `keep`
// wait between uses, and a buffer of another size or one given twice is not kept.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BufferPool } from "../src/lib/buffer-pool.ts";

describe("BufferPool", () => {
  it("lends the buffers given back, keeps at most `keep` and makes more when more are out", () => {
    const pool = new BufferPool(64, 1);
    const a = pool.take();
    const b = pool.take();
    assert.equal(a.length, 64);
    assert.notEqual(a, b, "two out at once are two buffers");
    pool.give(a);
    pool.give(b);
    assert.equal(pool.idleCount, 1, "only one is kept");
    assert.equal(pool.take(), a);
    assert.notEqual(pool.take(), a, "an empty pool makes a new one");
  });

  it("keeps neither a buffer of another size nor one given twice", () => {
    const pool = new BufferPool(64, 4);
    pool.give(Buffer.alloc(32));
    const a = pool.take();
    pool.give(a);
    pool.give(a);
    assert.equal(pool.idleCount, 1);
  });
});
