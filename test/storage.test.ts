// One storage suite, run on every dialect (DIALECTS=sqlite,postgres; both by default).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { reencryptAll } from "../src/domain/secrets/key-rotation.service.ts";
import { generateKey, hashToken, Keyring } from "../src/lib/crypto.ts";
import { ID_PATTERN, newId } from "../src/lib/ids.ts";
import type { Storage } from "../src/storage/db.ts";
import { AccountRepository } from "../src/storage/repositories/account.repository.ts";
import { ApiKeyRepository } from "../src/storage/repositories/api-key.repository.ts";
import { MetaRepository } from "../src/storage/repositories/meta.repository.ts";
import { SecretRepository } from "../src/storage/repositories/secret.repository.ts";
import { SettingsRepository } from "../src/storage/repositories/settings.repository.ts";
import { createTestStorage, dialects } from "./support/databases.ts";

for (const dialect of dialects()) {
  describe(`storage on ${dialect}`, () => {
    let storage: Storage;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ storage, dispose } = await createTestStorage(dialect));
    });
    after(async () => {
      await dispose();
    });

    it("migrations are idempotent: a second run applies nothing", async () => {
      assert.deepEqual(await storage.migrate(), []);
    });

    it("ready probe answers", async () => {
      await storage.ping();
    });

    it("API keys are found by hash only while not revoked", async () => {
      const repo = new ApiKeyRepository(storage.db);
      const id = newId();
      await repo.insert({
        id,
        name: "k",
        prefix: "mr_abc",
        hash: hashToken("secret-key"),
        created_at: 1,
        last_used_at: null,
        revoked_at: null,
      });
      assert.equal((await repo.findActiveByHash(hashToken("secret-key")))?.id, id);
      await repo.touch(id, 5);
      assert.equal((await repo.findById(id))?.last_used_at, 5);
      assert.equal(await repo.revoke(id, 10), true);
      assert.equal(await repo.revoke(id, 11), false, "revoking twice changes nothing");
      assert.equal(await repo.findActiveByHash(hashToken("secret-key")), undefined);
    });

    it("a prepared query keeps answering after a migration changes its table's columns", async () => {
      // On PostgreSQL the statement is prepared by name per connection; a column added by another
      // process's migration makes the server refuse a `SELECT *` prepared before it.
      const repo = new AccountRepository(storage.db);
      const id = newId();
      await repo.insert(account(id, 1));
      for (let i = 0; i < 3; i++) assert.equal((await repo.findById(id))?.id, id);
      await sql`alter table accounts add column prepared_probe integer`.execute(storage.db);
      try {
        assert.equal((await repo.findById(id))?.id, id);
        const inside = await storage.transaction((tx) => new AccountRepository(tx).findById(id));
        assert.equal(inside?.id, id);
        for (let i = 0; i < 3; i++) assert.equal((await repo.findById(id))?.id, id);
      } finally {
        await sql`alter table accounts drop column prepared_probe`.execute(storage.db);
      }
      assert.equal((await repo.findById(id))?.id, id);
      await sql`delete from accounts where id = ${id}`.execute(storage.db);
    });

    it("a prepared query keeps answering when the server no longer knows its statement (a pooler)", async () => {
      // A pooler in transaction mode can send a named statement's next use to a server connection
      // that never prepared it; dropping the session's statements does the same to this connection.
      const repo = new AccountRepository(storage.db);
      const id = newId();
      await repo.insert(account(id, 1));
      try {
        for (let i = 0; i < 3; i++) assert.equal((await repo.findById(id))?.id, id);
        if (dialect === "postgres") await sql`deallocate all`.execute(storage.db);
        for (let i = 0; i < 3; i++) assert.equal((await repo.findById(id))?.id, id);
      } finally {
        await sql`delete from accounts where id = ${id}`.execute(storage.db);
      }
    });

    it("times round-trip as numbers (epoch ms beyond 2^31)", async () => {
      const repo = new AccountRepository(storage.db);
      const at = Date.UTC(2030, 0, 1, 12, 0, 0, 123);
      const id = newId();
      await repo.insert(account(id, at));
      const row = await repo.findById(id);
      assert.equal(row?.created_at, at);
      assert.equal(typeof row?.created_at, "number");
      await repo.delete(id);
    });

    it("account pages are newest first and visit every account exactly once", async () => {
      const repo = new AccountRepository(storage.db);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const id = newId();
        ids.push(id);
        await repo.insert(account(id, 1000 + Math.floor(i / 2))); // ties on created_at break on id
      }
      const seen: string[] = [];
      let cursor: { createdAt: number; id: string } | undefined;
      for (;;) {
        const page = await repo.page(3, cursor);
        seen.push(...page.map((r) => r.id));
        if (page.length < 3) break;
        const last = page[page.length - 1]!;
        cursor = { createdAt: last.created_at, id: last.id };
      }
      assert.equal(seen.length, 7);
      assert.equal(new Set(seen).size, 7);
      assert.deepEqual(new Set(seen), new Set(ids));
    });

    it("settings upsert and meta values persist", async () => {
      const settings = new SettingsRepository(storage.db);
      await settings.put({ key: "a", value: '{"x":1}', secret: null, updated_at: 1 });
      await settings.put({ key: "a", value: '{"x":2}', secret: "mr1.x", updated_at: 2 });
      assert.deepEqual(await settings.get("a"), {
        key: "a",
        value: '{"x":2}',
        secret: "mr1.x",
        updated_at: 2,
      });
      const meta = new MetaRepository(storage.db);
      await meta.set("k", "1");
      await meta.set("k", "2");
      assert.equal(await meta.get("k"), "2");
    });

    it("key rotation re-encrypts every stored secret and both keys read meanwhile", async () => {
      const oldKey = generateKey();
      const newKey = generateKey();
      const before = new Keyring([oldKey]);
      const settings = new SettingsRepository(storage.db);
      const accounts = new AccountRepository(storage.db);
      await settings.put({
        key: "rot",
        value: null,
        secret: before.encrypt("client-secret-value"),
        updated_at: 1,
      });
      const id = newId();
      await accounts.insert({
        ...account(id, 5),
        access_token: before.encrypt("at-1"),
        refresh_token: before.encrypt("rt-1"),
      });
      const during = new Keyring([newKey, oldKey]);
      const progress = await reencryptAll(new SecretRepository(storage.db), during);
      assert.ok(progress.reencrypted >= 3);
      assert.deepEqual(
        progress.unreadable,
        ["settings.secret#a"],
        "a secret no key opens is reported, not lost",
      );
      const onlyNew = new Keyring([newKey]);
      assert.equal(onlyNew.decrypt((await settings.get("rot"))!.secret!), "client-secret-value");
      const row = (await accounts.findById(id))!;
      assert.equal(onlyNew.decrypt(row.refresh_token!), "rt-1");
      assert.equal(during.decrypt(before.encrypt("still readable")), "still readable");
      await accounts.delete(id);
      await settings.delete("rot");
    });
  });
}

function account(id: string, at: number) {
  return {
    id,
    type: "OUTLOOK",
    name: `${id}@contoso.com`,
    email: `${id}@contoso.com`,
    provider_user_id: id,
    tenant_id: null,
    status: "OK",
    status_reason: null,
    access_token: null,
    refresh_token: null,
    access_token_expires_at: null,
    scopes: null,
    created_at: at,
    updated_at: at,
  };
}

describe("ids", () => {
  it("are 22-character base64url strings of 16 random bytes (path-safe)", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId()));
    assert.equal(ids.size, 1000);
    for (const id of ids) {
      assert.match(id, ID_PATTERN);
      assert.equal(Buffer.from(id, "base64url").length, 16);
    }
  });
});
