import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runMailroom } from "./support/cli.ts";

describe("npx mailroom", () => {
  let dataDir: string;
  let env: Record<string, string>;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), "mailroom-cli-"));
    env = { DATA_DIR: dataDir, SANDBOX: "off" };
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("--help lists every command, and each command has its own --help", async () => {
    const top = await runMailroom(["--help"], env);
    assert.equal(top.code, 0);
    for (const command of ["start", "migrate", "api-key", "keys", "sandbox"])
      assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
    const create = await runMailroom(["api-key", "create", "--help"], env);
    assert.equal(create.code, 0);
    assert.match(create.stdout, /--name <name>/);
    const rotate = await runMailroom(["keys", "rotate", "--help"], env);
    assert.match(rotate.stdout, /Re-encrypt every stored secret/);
  });

  it("wrong usage exits 2 with a message that points at --help", async () => {
    const unknown = await runMailroom(["bogus"], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'bogus'/);
    assert.match(unknown.stderr, /--help/);
    const missing = await runMailroom(["api-key", "create"], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--name <name>'/);
  });

  it("migrate applies the schema and says where the data lives", async () => {
    const result = await runMailroom(["migrate"], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`sqlite: ${join(dataDir, "mailroom.db")}`));
  });

  it("api-key create prints the key once; list never shows it; revoke marks it revoked", async () => {
    const created = await runMailroom(["api-key", "create", "--name", "backend"], env);
    assert.equal(created.code, 0, created.stderr);
    const key = /^\s+(mr_[A-Za-z0-9_-]+)$/m.exec(created.stdout)?.[1];
    assert.ok(key, created.stdout);
    const id = /\(id ([A-Za-z0-9_-]{22})\)/.exec(created.stdout)?.[1];
    const listed = await runMailroom(["api-key", "list"], env);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /backend/);
    assert.match(listed.stdout, /active/);
    assert.equal(listed.stdout.includes(key), false);
    const revoked = await runMailroom(["api-key", "revoke", id!], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    const json = JSON.parse((await runMailroom(["api-key", "list", "--json"], env)).stdout) as {
      id: string;
      revokedAt: number | null;
    }[];
    assert.ok(json.find((k) => k.id === id)?.revokedAt);
    const dashed = await runMailroom(["api-key", "revoke", "-AAAAAAAAAAAAAAAAAAAAA"], env);
    assert.match(
      dashed.stderr,
      /No API key with id or name "-AAAAAAAAAAAAAAAAAAAAA"/,
      "an id starting with - is an id, not an option",
    );
    const again = await runMailroom(["api-key", "revoke", "no-such-key"], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /No API key with id or name "no-such-key"/);
  });

  it("keys rotate re-encrypts under a new key and the data stays readable", async () => {
    const result = await runMailroom(["keys", "rotate"], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Generated key [0-9a-f]{8}/);
    assert.match(result.stdout, /Done: \d+ re-encrypted/);
    const after = await runMailroom(["migrate"], env);
    assert.equal(after.code, 0, after.stderr);
  });

  it("a bad configuration value stops the command, naming the variable", async () => {
    const result = await runMailroom(["migrate"], { ...env, PORT: "http" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /PORT="http" is invalid/);
    assert.match(result.stderr, /\.env\.example/);
  });
});
