// Prepared queries (src/storage/prepared.ts): compiled once per database, run with new arguments, the
// same rows as the query built anew; inside a transaction too; and a builder that computes with an
// argument or leaves one out is refused instead of running the wrong statement.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openStorage, type Storage } from "../src/storage/db.ts";
import { PreparedQuery } from "../src/storage/prepared.ts";
import { createTestDatabase, type Dialect, dialects, type TestDatabase } from "./support/databases.ts";

const settingByKey = new PreparedQuery(1, (db, key: string) =>
  db.selectFrom("settings").select(["key", "value"]).where("key", "=", key),
);
const settingsBetween = new PreparedQuery(3, (db, from: string, to: string, limit: number) =>
  db
    .selectFrom("settings")
    .select("key")
    .where("key", ">=", from)
    .where("key", "<=", to)
    // A constant stays a constant; an argument used twice fills both places.
    .where("value", "<>", "skip")
    .where((eb) => eb.or([eb("key", "=", from), eb("key", ">", from)]))
    .orderBy("key")
    .limit(limit),
);
const renameSetting = new PreparedQuery(2, (db, key: string, value: string) =>
  db.updateTable("settings").set({ value }).where("key", "=", key),
);

for (const dialect of dialects()) describe(`prepared queries on ${dialect}`, () => suite(dialect));

function suite(dialect: Dialect): void {
  let database: TestDatabase;
  let storage: Storage;

  before(async () => {
    database = await createTestDatabase(dialect);
    storage = openStorage(database.config);
    await storage.migrate();
    const now = Date.now();
    const rows: [string, string][] = [
      ["a", "1"],
      ["b", "2"],
      ["c", "skip"],
      ["d", "4"],
    ];
    for (const [key, value] of rows)
      await storage.db.insertInto("settings").values({ key, value, updated_at: now }).execute();
  });
  after(async () => {
    await storage.close();
    await database.drop();
  });

  it("returns what the query built anew returns, for each set of arguments", async () => {
    for (const key of ["a", "b", "missing"]) {
      const built = await storage.db
        .selectFrom("settings")
        .select(["key", "value"])
        .where("key", "=", key)
        .executeTakeFirst();
      assert.deepEqual(await settingByKey.first(storage.db, key), built);
    }
    assert.deepEqual(
      (await settingsBetween.rows(storage.db, "a", "d", 10)).map((r) => r.key),
      ["a", "b", "d"],
    );
    assert.deepEqual(
      (await settingsBetween.rows(storage.db, "b", "d", 1)).map((r) => r.key),
      ["b"],
    );
  });

  it("runs inside a transaction, which rolls back its writes", async () => {
    await assert.rejects(
      storage.transaction(async (tx) => {
        assert.equal(await renameSetting.affected(tx, "a", "changed"), 1);
        assert.equal((await settingByKey.first(tx, "a"))?.value, "changed");
        throw new Error("roll back");
      }),
      /roll back/,
    );
    assert.equal((await settingByKey.first(storage.db, "a"))?.value, "1");
    assert.equal(await renameSetting.affected(storage.db, "missing", "x"), 0);
  });

  it("refuses a builder that computes with or drops an argument", async () => {
    const computed = new PreparedQuery(1, (db, limit: number) =>
      db
        .selectFrom("settings")
        .select("key")
        .limit(limit + 1),
    );
    await assert.rejects(computed.rows(storage.db, 1), /other than as a value/);
    const dropped = new PreparedQuery(2, (db, key: string, _unused: string) =>
      db.selectFrom("settings").select("key").where("key", "=", key),
    );
    await assert.rejects(dropped.rows(storage.db, "a", "b"), /left an argument out/);
  });
}
