// GET /api/v1/accounts served from memory while nothing was committed: SQLite's change stamp
// (storage/sqlite-connection.ts) moves with every commit of this process and of any other connection
// to the same file, and there is none while a transaction is open; a page read at a stamp is served
// again only at that stamp (lib/stamped-memo.ts, AccountService.list). On PostgreSQL there is no stamp
// and every call reads.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import SQLite from "better-sqlite3";
import { AccountService } from "../src/domain/accounts/account.service.ts";
import type { Logger } from "../src/lib/logger.ts";
import { StampedMemo } from "../src/lib/stamped-memo.ts";
import type { Storage } from "../src/storage/db.ts";
import { AccountRepository, type NewAccountRow } from "../src/storage/repositories/account.repository.ts";
import { sqliteConnection } from "../src/storage/sqlite-connection.ts";
import { accountRow } from "./support/account-rows.ts";
import { createTestDatabase, createTestStorage, dialects, type TestDatabase } from "./support/databases.ts";

const T0 = Date.UTC(2026, 0, 1);

function account(i: number): NewAccountRow {
  return accountRow({
    id: `acc${i}`,
    name: `User ${i}`,
    email: `user${i}@contoso.com`,
    provider_user_id: `p${i}`,
    created_at: T0 + i,
    updated_at: T0,
  });
}

function service(storage: Storage): AccountService {
  const unused = undefined as never;
  return new AccountService(new AccountRepository(storage.db), {
    transaction: unused,
    events: unused,
    log: { warn() {}, info() {} } as unknown as Logger,
    graph: unused,
    settings: unused,
    clock: unused,
    changeStamp: storage.changeStamp,
  });
}

describe("StampedMemo", () => {
  // Each case: what is set (key, stamp, value), in order, then what is asked (key, stamp) → expected.
  type Set = [string, string | undefined, string];
  type Ask = [string, string | undefined, string | undefined];
  const cases: Array<{ name: string; set: Set[]; ask: Ask[] }> = [
    { name: "nothing remembered", set: [], ask: [["k", "1", undefined]] },
    { name: "the same stamp serves the value", set: [["k", "1", "v"]], ask: [["k", "1", "v"]] },
    { name: "another stamp does not", set: [["k", "1", "v"]], ask: [["k", "2", undefined]] },
    { name: "no stamp is never served", set: [["k", "1", "v"]], ask: [["k", undefined, undefined]] },
    { name: "no stamp is never kept", set: [["k", undefined, "v"]], ask: [["k", "1", undefined]] },
    {
      name: "a newer value replaces the older",
      set: [
        ["k", "1", "v"],
        ["k", "2", "w"],
      ],
      ask: [
        ["k", "1", undefined],
        ["k", "2", "w"],
      ],
    },
    {
      name: "past the bound (2) the oldest key goes",
      set: [
        ["a", "1", "A"],
        ["b", "1", "B"],
        ["c", "1", "C"],
      ],
      ask: [
        ["a", "1", undefined],
        ["b", "1", "B"],
        ["c", "1", "C"],
      ],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const memo = new StampedMemo<string>(2);
      for (const [key, stamp, value] of c.set) memo.set(key, stamp, value);
      for (const [key, stamp, expected] of c.ask)
        assert.equal(memo.get(key, stamp), expected, `${key}@${stamp}`);
    });
});

describe("SQLite's change stamp", () => {
  let database: TestDatabase;
  let own: SQLite.Database;
  let other: SQLite.Database;
  let connection: ReturnType<typeof sqliteConnection>;
  before(async () => {
    database = await createTestDatabase("sqlite");
    own = new SQLite(database.sqlitePath!);
    own.pragma("journal_mode = WAL");
    own.exec("create table t (x integer)");
    other = new SQLite(database.sqlitePath!);
    connection = sqliteConnection(own);
  });
  after(async () => {
    own.close();
    other.close();
    await database.drop();
  });

  it("stays the same over reads", () => {
    const stamp = connection.changeStamp();
    connection.database.prepare("select * from t").all();
    assert.equal(connection.changeStamp(), stamp);
  });

  it("moves with a write of this connection", () => {
    const stamp = connection.changeStamp();
    connection.database.prepare("insert into t values (?)").run(1);
    assert.notEqual(connection.changeStamp(), stamp);
  });

  it("moves with a commit of another connection (another process)", () => {
    const stamp = connection.changeStamp();
    other.prepare("insert into t values (?)").run(2);
    assert.notEqual(connection.changeStamp(), stamp);
  });

  it("is absent while a transaction is open, and moves once it commits", () => {
    const stamp = connection.changeStamp();
    connection.database.prepare("begin").run();
    assert.equal(connection.changeStamp(), undefined);
    connection.database.prepare("insert into t values (?)").run(3);
    connection.database.prepare("commit").run();
    assert.notEqual(connection.changeStamp(), undefined);
    assert.notEqual(connection.changeStamp(), stamp);
  });
});

describe("the account list served from memory on SQLite", () => {
  let storage: Storage;
  let database: TestDatabase;
  let dispose: () => Promise<void>;
  let accounts: AccountService;
  before(async () => {
    ({ storage, database, dispose } = await createTestStorage("sqlite"));
    await new AccountRepository(storage.db).insert(account(1));
    accounts = service(storage);
  });
  after(() => dispose());

  it("an unchanged database serves the page read before", async () => {
    const first = await accounts.list({ limit: 100 });
    assert.equal(first.items.length, 1);
    assert.equal(await accounts.list({ limit: 100 }), first);
    // Another limit or cursor is another page.
    assert.notEqual(await accounts.list({ limit: 10 }), first);
  });

  it("a change made by this process shows on the next call", async () => {
    await accounts.list({ limit: 100 });
    await new AccountRepository(storage.db).insert(account(2));
    const page = await accounts.list({ limit: 100 });
    assert.deepEqual(
      page.items.map((a) => a.id),
      ["acc2", "acc1"],
    );
  });

  it("a change committed by another process shows on the next call", async () => {
    await accounts.list({ limit: 100 });
    const other = new SQLite(database.sqlitePath!);
    try {
      other
        .prepare("update accounts set status = 'CREDENTIALS', status_reason = 'revoked' where id = 'acc1'")
        .run();
    } finally {
      other.close();
    }
    const page = await accounts.list({ limit: 100 });
    const acc1 = page.items.find((a) => a.id === "acc1");
    assert.equal(acc1?.sources[0]?.status, "CREDENTIALS");
    assert.equal(acc1?.status_reason, "revoked");
  });
});

describe("the account list on PostgreSQL", { skip: !dialects().includes("postgres") }, () => {
  let storage: Storage;
  let dispose: () => Promise<void>;
  before(async () => {
    ({ storage, dispose } = await createTestStorage("postgres"));
    await new AccountRepository(storage.db).insert(account(1));
  });
  after(() => dispose());

  it("has no change stamp, so every call reads", async () => {
    assert.equal(storage.changeStamp(), undefined);
    const accounts = service(storage);
    const first = await accounts.list({ limit: 100 });
    assert.notEqual(await accounts.list({ limit: 100 }), first);
    assert.deepEqual(await accounts.list({ limit: 100 }), first);
  });
});
