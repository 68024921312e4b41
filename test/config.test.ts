import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ConfigError, loadConfig, VARIABLES } from "../src/config/config.ts";
import { codeBlocks } from "./support/examples.ts";

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

  describe("scaled mode", () => {
    const KEY = Buffer.alloc(32, 7).toString("base64");
    const scaled = {
      DATABASE_URL: "postgres://u:p@db:5432/mailroom",
      REDIS_URL: "redis://:s3cret@cache:6379/2",
      MAILROOM_ENCRYPTION_KEY: KEY,
      MICROSOFT_LOGIN_URL: "http://sandbox:3001",
      MICROSOFT_GRAPH_URL: "http://sandbox:3001",
    };

    it("REDIS_URL with a postgres:// DATABASE_URL switches it on, under the default key prefix", () => {
      const config = loadConfig(scaled);
      assert.deepEqual(config.redis, { url: "redis://:s3cret@cache:6379/2", prefix: "mailroom" });
      assert.equal(loadConfig({ ...scaled, REDIS_PREFIX: "acme:prod" }).redis?.prefix, "acme:prod");
    });

    it("without REDIS_URL Mailroom stays in the embedded mode", () => {
      assert.equal(loadConfig({}).redis, undefined);
      assert.equal(loadConfig({ DATABASE_URL: "postgres://u:p@db/m" }).redis, undefined);
    });

    it("REDIS_URL with SQLite is refused, saying that every process must see the same data", () => {
      for (const database of [{}, { DATABASE_URL: "sqlite:///srv/m.db" }]) {
        const env: Record<string, string> = { ...scaled, ...database };
        if (!("DATABASE_URL" in database)) delete env.DATABASE_URL;
        assert.throws(
          () => loadConfig(env),
          (error: unknown) => {
            assert.ok(error instanceof ConfigError);
            assert.match(error.message, /REDIS_URL is set \(scaled mode\)/);
            assert.match(error.message, /shared PostgreSQL database: every process must see the same data/);
            assert.doesNotMatch(error.message, /s3cret/);
            return true;
          },
        );
      }
    });

    it("scaled mode needs MAILROOM_ENCRYPTION_KEY (a key file would differ per process) and refuses the per-process sandbox", () => {
      const { MAILROOM_ENCRYPTION_KEY: _key, ...withoutKey } = scaled;
      assert.throws(
        () => loadConfig(withoutKey),
        /MAILROOM_ENCRYPTION_KEY is not\. Every process must be given the same key/,
      );
      assert.throws(() => loadConfig({ ...scaled, SANDBOX: "on" }), /npx mailroom sandbox/);
      const { MICROSOFT_LOGIN_URL: _l, MICROSOFT_GRAPH_URL: _g, ...realMicrosoft } = scaled;
      assert.equal(loadConfig(realMicrosoft).sandbox.enabled, false);
      assert.equal(loadConfig(realMicrosoft).microsoft.graphUrl, "https://graph.microsoft.com");
    });

    it("the README's 'Scaling out' environment is a valid scaled configuration once the key is filled in", () => {
      const readme = readFileSync("README.md", "utf8");
      const section = readme.slice(readme.indexOf("## Scaling out"));
      const block = codeBlocks(section).find((b) => b.lang === "env");
      assert.ok(block, "the section shows the environment of a process");
      const env = parseEnvFile(block.code.replace("<the key generated above>", KEY));
      const config = loadConfig(env);
      assert.equal(config.database.kind, "postgres");
      assert.deepEqual(config.redis, { url: "redis://redis.internal:6379", prefix: "mailroom" });
      assert.equal(config.publicUrl, "https://mail.example.com");
      assert.equal(config.sandbox.enabled, false);
    });

    it("a bad REDIS_URL or REDIS_PREFIX names the variable and never echoes the password", () => {
      assert.throws(
        () => loadConfig({ ...scaled, REDIS_URL: "http://:hunter2@cache:6379", REDIS_PREFIX: "a b" }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.problems.length, 2);
          assert.match(error.message, /REDIS_URL=.*must start with redis:\/\/ or rediss:\/\//);
          assert.match(error.message, /REDIS_PREFIX="a b" is invalid/);
          assert.doesNotMatch(error.message, /hunter2/);
          return true;
        },
      );
    });
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
