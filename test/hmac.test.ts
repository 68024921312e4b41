// lib/hmac.ts is HMAC-SHA256 exactly: for any key (shorter than, as long as and longer than SHA-256's
// 64-byte block) and any split of the message into parts, its MAC is createHmac's.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { hmacSha256 } from "../src/lib/hmac.ts";

describe("hmacSha256", () => {
  it("equals createHmac for any key and message, however the message is split", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
        (key, parts) => {
          const buffers = parts.map((p) => Buffer.from(p));
          const expected = createHmac("sha256", Buffer.from(key)).update(Buffer.concat(buffers)).digest();
          assert.deepEqual(hmacSha256(Buffer.from(key))(...buffers), expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("RFC 4231 test case 2", () => {
    const mac = hmacSha256(Buffer.from("Jefe"))(Buffer.from("what do ya want for nothing?"));
    assert.equal(mac.toString("hex"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });
});
