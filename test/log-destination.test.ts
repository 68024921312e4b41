// The stdout log destination: lines arrive whole and in order, flush reports when they have left,
// and a destination that fails (the reader gone) drops lines instead of retrying, so neither flush
// nor the exit-time flushSync can hang.
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FdLogDestination } from "../src/lib/log-destination.ts";

const flushed = (d: FdLogDestination) => new Promise<void>((resolve) => d.flush(() => resolve()));

describe("FdLogDestination", () => {
  it("writes every line whole and in order; flush calls back once they are written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailroom-log-"));
    const fd = openSync(join(dir, "out.log"), "w");
    try {
      const d = new FdLogDestination(fd);
      const lines = Array.from({ length: 2000 }, (_, i) => `{"n":${i},"pad":"${"x".repeat(200)}"}\n`);
      for (const line of lines) d.write(line);
      await flushed(d);
      assert.equal(readFileSync(join(dir, "out.log"), "utf8"), lines.join(""));
      assert.equal(d.dropped, 0);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("flushSync while a write is pending leaves the queue to it: nothing is lost or reordered", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailroom-log-"));
    const fd = openSync(join(dir, "out.log"), "w");
    try {
      const d = new FdLogDestination(fd);
      d.write("first\n");
      d.write("second\n"); // queued behind the first line's pending write
      d.flushSync();
      await flushed(d);
      assert.equal(readFileSync(join(dir, "out.log"), "utf8"), "first\nsecond\n");
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a destination that fails is given up: lines are dropped, flush and flushSync return", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mailroom-log-"));
    const fd = openSync(join(dir, "out.log"), "w");
    closeSync(fd); // every write now fails (EBADF), as writes to a pipe without a reader do (EPIPE)
    try {
      const d = new FdLogDestination(fd);
      d.write("lost\n");
      await flushed(d);
      assert.equal(d.broken, true);
      d.write("also lost\n");
      d.flushSync();
      await flushed(d);
      assert.ok(d.dropped >= 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
