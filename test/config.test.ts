import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ConfigError, loadConfig, VARIABLES } from "../src/config/config.ts";

function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

describe("configuration", () => {
  it(".env.example documents exactly the variables Mailroom reads, and parses as valid configuration", () => {
    const example = parseEnvFile(readFileSync(".env.example", "utf8"));
    assert.deepEqual(Object.keys(example).sort(), Object.keys(VARIABLES).sort());
    const config = loadConfig(example, "/srv/mailroom");
    assert.equal(config.port, 3000);
    assert.equal(config.dataDir, "/srv/mailroom/data");
    assert.deepEqual(config.database, { kind: "sqlite", path: "/srv/mailroom/data/mailroom.db" });
    assert.equal(config.publicUrl, "http://localhost:3000");
    assert.equal(config.sandbox.enabled, true);
  });

  it("the embedded default is SQLite in ./data with the sandbox on, serving on port 3000", () => {
    const config = loadConfig({}, "/app");
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 3000);
    assert.equal(config.database.kind, "sqlite");
    assert.equal(config.sandbox.enabled, true);
    assert.equal(config.microsoft.loginUrl, "http://localhost:3001");
  });

  it("a postgres:// DATABASE_URL switches to PostgreSQL", () => {
    const config = loadConfig({ DATABASE_URL: "postgres://u:p@db:5432/mailroom" });
    assert.deepEqual(config.database, { kind: "postgres", url: "postgres://u:p@db:5432/mailroom" });
  });

  it("configuring real Microsoft URLs switches the sandbox off unless asked for", () => {
    const config = loadConfig({ MICROSOFT_LOGIN_URL: "https://login.microsoftonline.com" });
    assert.equal(config.sandbox.enabled, false);
    assert.equal(config.microsoft.graphUrl, "https://graph.microsoft.com");
  });

  it("every bad value is reported at once, naming the variable and what is expected", () => {
    assert.throws(
      () => loadConfig({ PORT: "eighty", LOG_LEVEL: "loud", PUBLIC_URL: "ftp://x", SANDBOX: "maybe" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 4);
        assert.match(error.message, /PORT="eighty" is invalid.*expected an integer/);
        assert.match(error.message, /LOG_LEVEL="loud".*expected fatal, error/);
        assert.match(error.message, /PUBLIC_URL="ftp:\/\/x".*http/);
        assert.match(error.message, /SANDBOX="maybe".*on or off/);
        return true;
      },
    );
  });

  it("a bad encryption key or database password is never echoed in the error", () => {
    assert.throws(
      () => loadConfig({ MAILROOM_ENCRYPTION_KEY: "c2hvcnQ=", DATABASE_URL: "mysql://root:hunter2@db/x" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.doesNotMatch(error.message, /c2hvcnQ=|hunter2/);
        assert.match(error.message, /MAILROOM_ENCRYPTION_KEY/);
        assert.match(error.message, /DATABASE_URL/);
        return true;
      },
    );
  });

  it("proxy headers are not trusted unless TRUST_PROXY names the proxy", () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: "on" }).trustProxy, true);
    assert.deepEqual(loadConfig({ TRUST_PROXY: "127.0.0.1, 10.0.0.0/8" }).trustProxy, [
      "127.0.0.1",
      "10.0.0.0/8",
    ]);
    assert.throws(() => loadConfig({ TRUST_PROXY: "yes please" }), /TRUST_PROXY/);
  });

  it("callbacks may reach private addresses by default only while the embedded sandbox runs; WEBHOOK_ALLOW_PRIVATE_ADDRESSES overrides either way", () => {
    for (const [env, expected] of [
      [{}, true],
      [{ SANDBOX: "on" }, true],
      [{ SANDBOX: "off" }, false],
      [{ MICROSOFT_LOGIN_URL: "https://login.microsoftonline.com" }, false],
      [{ SANDBOX: "off", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" }, true],
      [{ SANDBOX: "on", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "off" }, false],
      [{ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "" }, true],
    ] as const)
      assert.equal(loadConfig(env).webhooks.allowPrivateAddresses, expected, JSON.stringify(env));
    assert.throws(
      () => loadConfig({ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "yes" }),
      /WEBHOOK_ALLOW_PRIVATE_ADDRESSES/,
    );
  });

  it("a PUBLIC_URL with a path is refused", () => {
    assert.throws(() => loadConfig({ PUBLIC_URL: "https://example.com/mailroom" }), /PUBLIC_URL/);
  });
});
