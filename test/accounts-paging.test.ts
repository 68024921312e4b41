// Many accounts: the dashboard's account list and search are paged on the server (keyset on
// accounts_created_idx), every account is visited once, a search reads at most its scan budget per
// request, and neither the dashboard page nor the API's GET /api/v1/accounts page sorts the table.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { AdminService } from "../src/domain/admins/admin.service.ts";
import { TestClock } from "../src/lib/clock.ts";
import type { Storage } from "../src/storage/db.ts";
import { AccountRepository } from "../src/storage/repositories/account.repository.ts";
import { type AccountKey, AdminRepository } from "../src/storage/repositories/admin.repository.ts";
import type { Database } from "../src/storage/schema.ts";
import { accountRow } from "./support/account-rows.ts";
import { createTestStorage, dialects, type TestDatabase } from "./support/databases.ts";

const ACCOUNTS = 1_200;
const T0 = Date.UTC(2026, 0, 1);

for (const dialect of dialects()) {
  describe(`accounts paged on the server on ${dialect}`, () => {
    let storage: Storage;
    let dispose: () => Promise<void>;
    let database: TestDatabase;
    let repo: AdminRepository;
    before(async () => {
      ({ storage, dispose, database } = await createTestStorage(dialect));
      repo = new AdminRepository(storage.db);
      const rows = Array.from({ length: ACCOUNTS }, (_, i) =>
        accountRow({
          id: `acc${String(i).padStart(5, "0")}`,
          name: i % 100 === 7 ? `Rare Name ${i}` : `User ${i}`,
          email: `user${i}@contoso.com`,
          provider_user_id: `p${i}`,
          // Pairs share a creation time, so the id breaks ties.
          created_at: T0 + Math.floor(i / 2),
          updated_at: T0,
        }),
      );
      for (let i = 0; i < rows.length; i += 200)
        await storage.db
          .insertInto("accounts")
          .values(rows.slice(i, i + 200))
          .execute();
    });
    after(() => dispose());

    const walk = async (query: string, limit: number, scanLimit: number) => {
      const seen: string[] = [];
      let after: AccountKey | undefined;
      let pages = 0;
      for (;;) {
        const page = await repo.accountsPage({ query, limit, after, scanLimit });
        assert.ok(page.rows.length <= limit);
        seen.push(...page.rows.map((r) => r.id));
        pages++;
        if (!page.next) break;
        after = page.next;
      }
      return { seen, pages };
    };

    it("the whole list pages newest first, each account once, ties broken by id", async () => {
      const { seen, pages } = await walk("", 50, 5_000);
      assert.equal(seen.length, ACCOUNTS);
      assert.equal(new Set(seen).size, ACCOUNTS);
      assert.equal(pages, ACCOUNTS / 50);
      assert.equal(seen[0], "acc01199");
      assert.equal(seen[1], "acc01198");
      assert.equal(seen.at(-1), "acc00000");
    });

    it("a search finds every match once while each request examines at most its scan budget", async () => {
      const { seen, pages } = await walk("rare name", 5, 100);
      const expected = Array.from(
        { length: ACCOUNTS / 100 },
        (_, k) => `acc${String(k * 100 + 7).padStart(5, "0")}`,
      );
      assert.deepEqual([...seen].sort(), expected);
      // 1,200 accounts at 100 per request: at least 12 requests, however few the matches.
      assert.ok(pages >= ACCOUNTS / 100, `pages: ${pages}`);
    });

    it("a common search fills pages and stops at the last match", async () => {
      const { seen, pages } = await walk("CONTOSO", 100, 5_000);
      assert.equal(new Set(seen).size, ACCOUNTS);
      assert.equal(pages, ACCOUNTS / 100);
    });

    it("the dashboard's cursor round-trips, and a forged cursor is refused as bad input", async () => {
      const admins = new AdminService(repo, new TestClock(T0), "http://localhost");
      const first = await admins.accountsPage("", 3);
      const second = await admins.accountsPage("", 3, first.nextCursor!);
      assert.deepEqual(
        second.accounts.map((a) => a.id),
        ["acc01196", "acc01195", "acc01194"],
      );
      const forged = Buffer.from(JSON.stringify({ c: "x", i: 1 })).toString("base64");
      await assert.rejects(admins.accountsPage("", 3, forged), { code: "invalid_parameters" });
    });

    if (dialect === "sqlite")
      it("neither the dashboard page nor the API page scans or sorts the accounts table, nor the account page its links (SQLite plan)", async () => {
        // The repositories' own statements, captured from a second connection, explained with their values.
        const raw = new SQLite(database.sqlitePath!);
        const captured: { sql: string; parameters: readonly unknown[] }[] = [];
        const db = new Kysely<Database>({
          dialect: new SqliteDialect({ database: raw }),
          log: (event) => {
            if (event.level === "query") captured.push(event.query);
          },
        });
        try {
          const after = { createdAt: T0 + 10, id: "acc00020" };
          await new AdminRepository(db).accountsPage({ query: "", limit: 50, after, scanLimit: 5_000 });
          await new AccountRepository(db).page(50, after);
          assert.equal(captured.length, 2);
          for (const query of captured) {
            const plan = (
              raw.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[])) as {
                detail: string;
              }[]
            ).map((r) => r.detail);
            assert.ok(
              plan.some((d) => /USING (COVERING )?INDEX accounts_created_idx/.test(d)),
              `${query.sql}: ${plan.join(" | ")}`,
            );
            assert.ok(!plan.some((d) => /TEMP B-TREE/.test(d)), `${query.sql}: ${plan.join(" | ")}`);
          }
          // The account page's connection history: hosted links by account, through their indexes.
          captured.length = 0;
          await new AdminRepository(db).linksOfAccount("acc00001");
          const links = (
            raw
              .prepare(`explain query plan ${captured[0]!.sql}`)
              .all(...(captured[0]!.parameters as unknown[])) as {
              detail: string;
            }[]
          ).map((r) => r.detail);
          assert.ok(!links.some((d) => /^SCAN hosted_links$/.test(d)), links.join(" | "));
        } finally {
          await db.destroy();
        }
      });
  });
}
