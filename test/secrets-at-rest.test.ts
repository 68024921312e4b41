import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KeySetupError, keyFilePath } from "../src/app/keyring.ts";
import { buildServices } from "../src/app/services.ts";
import { loadConfig } from "../src/config/config.ts";
import { DecryptedEnvelopes, generateKey, Keyring } from "../src/lib/crypto.ts";
import { newId } from "../src/lib/ids.ts";
import { createLogger } from "../src/lib/logger.ts";
import { createTestApp, LogCapture, type TestApp } from "./support/app.ts";

const CLIENT_SECRET = "Xq8Q~client-secret-value-that-must-never-leak";
const REFRESH_TOKEN = "M.C123_refresh-token-value-that-must-never-leak";

describe("secrets at rest", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp("sqlite");
  });
  after(async () => {
    await t.dispose();
  });

  it("the generated key file is private (mode 0600)", () => {
    const mode = statSync(keyFilePath(t.config)).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  it("stored secrets never appear in plaintext in the raw database files", async () => {
    await t.services.repos.settings.put({
      key: "microsoft.client_secret",
      value: null,
      secret: t.services.secrets.encrypt(CLIENT_SECRET),
      updated_at: 1,
    });
    const id = newId();
    await t.services.repos.accounts.insert({
      id,
      type: "OUTLOOK",
      name: "a@contoso.com",
      email: "a@contoso.com",
      provider_user_id: "u",
      tenant_id: null,
      status: "OK",
      status_reason: null,
      access_token: t.services.secrets.encrypt("eyJ0eXAiOiJKV1Qi.access-token"),
      refresh_token: t.services.secrets.encrypt(REFRESH_TOKEN),
      access_token_expires_at: 1,
      scopes: null,
      created_at: 1,
      updated_at: 1,
    });
    const row = await t.services.repos.accounts.findById(id);
    assert.equal(
      t.services.secrets.decrypt(row!.refresh_token!),
      REFRESH_TOKEN,
      "the service reads them back",
    );

    const dir = t.database.sqlitePath!.replace(/\/[^/]+$/, "");
    const files = readdirSync(dir).filter((f) => f.startsWith("mailroom.db"));
    assert.ok(files.includes("mailroom.db"));
    for (const file of files) {
      const raw = readFileSync(join(dir, file));
      for (const secret of [CLIENT_SECRET, REFRESH_TOKEN, "access-token", t.apiKey]) {
        assert.equal(raw.includes(Buffer.from(secret)), false, `${file} contains ${secret.slice(0, 12)}…`);
      }
    }
  });

  it("API keys are stored as hashes, never as given", async () => {
    const rows = await t.services.repos.apiKeys.list();
    assert.ok(rows.length > 0);
    for (const row of rows) assert.notEqual(row.hash, t.apiKey);
  });
});

describe("encryption key problems refuse to start and change nothing", () => {
  it("a missing key file with encrypted data in the database refuses to start", async () => {
    const t = await createTestApp("sqlite");
    await t.services.repos.settings.put({
      key: "s",
      value: null,
      secret: t.services.secrets.encrypt("x"),
      updated_at: 1,
    });
    await t.app.close();
    await t.services.close();
    const before = readFileSync(t.database.sqlitePath!);
    const keyFile = keyFilePath(t.config);
    const saved = readFileSync(keyFile);
    const { rmSync } = await import("node:fs");
    rmSync(keyFile);
    await assert.rejects(
      buildServices(t.config, createLogger({ level: "silent" })),
      (error: unknown) =>
        error instanceof KeySetupError &&
        /no encryption key was found/.test(error.message) &&
        /will not generate a new key/.test(error.message),
    );
    assert.ok(readFileSync(t.database.sqlitePath!).equals(before), "the database file is unchanged");
    assert.throws(() => statSync(keyFile), "no new key was generated over existing data");
    writeFileSync(keyFile, saved, { mode: 0o600 });
    await t.database.drop();
  });

  it("a wrong MAILROOM_ENCRYPTION_KEY refuses to start, naming the key the data needs", async () => {
    const t = await createTestApp("sqlite");
    await t.app.close();
    await t.services.close();
    const wrong = generateKey().toString("base64");
    const config = loadConfig({
      DATA_DIR: t.dataDir,
      SANDBOX: "off",
      DATABASE_URL: `sqlite://${t.database.sqlitePath}`,
      MAILROOM_ENCRYPTION_KEY: wrong,
    });
    await assert.rejects(buildServices(config, createLogger({ level: "silent" })), (error: unknown) => {
      assert.ok(error instanceof KeySetupError);
      assert.match(error.message, /do not open this database, which was encrypted with key [0-9a-f]{8}/);
      assert.doesNotMatch(error.message, new RegExp(wrong.replace(/[+/=]/g, "\\$&")));
      return true;
    });
    await t.database.drop();
  });

  it("during a rotation the service reads secrets written under the old and the new key", async () => {
    const oldKey = generateKey();
    const newKey = generateKey();
    const t = await createTestApp("sqlite", { MAILROOM_ENCRYPTION_KEY: oldKey.toString("base64") });
    const underOld = t.services.secrets.encrypt("old-secret");
    await t.services.repos.settings.put({ key: "s", value: null, secret: underOld, updated_at: 1 });
    await t.app.close();
    await t.services.close();
    const config = loadConfig({
      DATA_DIR: t.dataDir,
      SANDBOX: "off",
      DATABASE_URL: `sqlite://${t.database.sqlitePath}`,
      MAILROOM_ENCRYPTION_KEY: `${newKey.toString("base64")},${oldKey.toString("base64")}`,
    });
    const services = await buildServices(config, createLogger({ level: "silent" }));
    assert.equal(services.secrets.decrypt(underOld), "old-secret");
    const underNew = services.secrets.encrypt("new-secret");
    assert.equal(Keyring.keyIdOfEnvelope(underNew), services.secrets.current.primaryId);
    assert.equal(new Keyring([newKey]).decrypt(underNew), "new-secret");
    await services.close();
    await t.database.drop();
  });
});

describe("decrypted envelopes", () => {
  it("decrypt each envelope once, a changed secret at once, and keep at most their limit", () => {
    const keyring = new Keyring([generateKey()]);
    let decrypted = 0;
    const memo = new DecryptedEnvelopes(
      {
        decrypt: (envelope) => {
          decrypted++;
          return keyring.decrypt(envelope);
        },
      },
      2,
    );
    const first = keyring.encrypt("token one");
    assert.equal(memo.decrypt(first), "token one");
    assert.equal(memo.decrypt(first), "token one");
    assert.equal(decrypted, 1);
    // A refresh stores a new envelope: its plaintext, never the one remembered before.
    const second = keyring.encrypt("token two");
    assert.equal(memo.decrypt(second), "token two");
    assert.equal(decrypted, 2);
    memo.decrypt(keyring.encrypt("token three"));
    assert.equal(memo.decrypt(first), "token one");
    assert.equal(decrypted, 4, "the oldest envelope was forgotten at the limit");
    assert.throws(() => memo.decrypt("mr1.bad"), /not a Mailroom secret envelope/);
  });
});

describe("logs", () => {
  it("contain neither the API key of a request nor a stored secret", async () => {
    const logs = new LogCapture();
    const t = await createTestApp("sqlite");
    const services = t.services;
    const childLog = createLogger({ level: "trace", destination: logs });
    // Log the way Mailroom's modules do: objects with secret-bearing fields, and a request.
    childLog.info({ client_secret: CLIENT_SECRET, refresh_token: REFRESH_TOKEN }, "saved settings");
    childLog.info(
      { req: { headers: { "x-api-key": t.apiKey, authorization: `Bearer ${REFRESH_TOKEN}` } } },
      "request",
    );
    await services.repos.settings.put({
      key: "s",
      value: null,
      secret: services.secrets.encrypt(CLIENT_SECRET),
      updated_at: 1,
    });
    await t.app.inject({ method: "GET", url: "/api/v1/accounts", headers: { "x-api-key": t.apiKey } });
    await t.app.inject({ method: "GET", url: "/api/v1/accounts", headers: { "x-api-key": `${t.apiKey}x` } });
    const all = `${logs.text}\n${t.logs.text}`;
    assert.ok(t.logs.lines.length > 0, "the app logged requests at debug level");
    for (const secret of [t.apiKey, CLIENT_SECRET, REFRESH_TOKEN]) assert.equal(all.includes(secret), false);
    assert.match(logs.text, /\[redacted\]/);
    await t.dispose();
  });
});
