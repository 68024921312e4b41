// Starting Mailroom as an operator does, in a child process: what it prints, what it refuses, how it stops.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import SQLite from "better-sqlite3";
import { BIN, runMailroom } from "./support/cli.ts";
import { until } from "./support/until.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mailroom-start-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("start-up", () => {
  it("a fresh start migrates SQLite in DATA_DIR and prints the URL, the data location and the next steps", async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, [BIN, "start"], {
      env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir, PORT: "0", SANDBOX: "off", LOG_FORMAT: "json" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    try {
      await until("the start-up banner", () => /Next steps/.test(stdout), {
        timeoutMs: 20_000,
        intervalMs: 50,
        detail: () => stdout,
      });
      assert.match(stdout, /Mailroom is running at http:\/\/localhost:\d+/);
      assert.match(stdout, new RegExp(`Data:\\s+${join(dataDir, "mailroom.db")}`));
      assert.match(stdout, /npx mailroom api-key create --name/);
      assert.match(stdout, /Generated a new encryption key/);
      assert.ok(existsSync(join(dataDir, "mailroom.db")));
      const port = /running at http:\/\/localhost:(\d+)/.exec(stdout)?.[1];
      const ready = await fetch(`http://127.0.0.1:${port}/ready`);
      assert.equal(ready.status, 200);

      // SIGTERM: in-flight work drains, then the process exits cleanly.
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.match(stdout, /Shutting down/);
      assert.match(stdout, /"msg":"Stopped"/);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a corrupt database file is refused and left untouched", async () => {
    const dataDir = tempDir();
    const garbage = Buffer.from("this is not a database at all, just some bytes".repeat(100));
    writeFileSync(join(dataDir, "mailroom.db"), garbage);
    const result = await runMailroom(["start"], { DATA_DIR: dataDir, PORT: "0", SANDBOX: "off" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is not a SQLite database.*did not touch it/);
    assert.ok(readFileSync(join(dataDir, "mailroom.db")).equals(garbage));
    assert.equal(existsSync(join(dataDir, "encryption.key")), false);
  });

  it("another application's SQLite database is refused and left untouched", async () => {
    const dataDir = tempDir();
    const db = new SQLite(join(dataDir, "mailroom.db"));
    db.exec(
      "create table customers (id integer primary key, name text); insert into customers (name) values ('ada');",
    );
    db.close();
    const before = readFileSync(join(dataDir, "mailroom.db"));
    const result = await runMailroom(["start"], { DATA_DIR: dataDir, PORT: "0", SANDBOX: "off" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not Mailroom's \(customers\)/);
    assert.ok(readFileSync(join(dataDir, "mailroom.db")).equals(before));
  });

  it("a DATA_DIR that cannot be written is refused with the fix", async () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "x");
    const result = await runMailroom(["start"], { DATA_DIR: join(file, "data"), PORT: "0", SANDBOX: "off" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is not writable.*set DATA_DIR/);
  });

  it("PostgreSQL unreachable at start is reported with the URL (password hidden)", async () => {
    const result = await runMailroom(["start"], {
      DATA_DIR: tempDir(),
      PORT: "0",
      SANDBOX: "off",
      DATABASE_URL: "postgres://mailroom:s3cret@127.0.0.1:1/mailroom",
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unreachable/);
    assert.doesNotMatch(result.stderr, /s3cret/);
  });
});
