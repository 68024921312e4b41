// Scaled mode and the email cache: two Mailroom processes on one PostgreSQL database and Redis. Each
// process caches emails in its own memory; an email changed through one process (which therefore has
// seen the change) is never served stale by the other, even though the other holds the old version:
// with EMAIL_CACHE_REVALIDATE=each (every read asks Graph for the version) and with on-change, the
// default (the change counter in PostgreSQL tells the other process its cached pages are old).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Fleet, startFleet } from "./support/fleet.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";

interface Email {
  id: string;
  read_date: string | null;
  folders: string[];
}

for (const revalidate of ["each", "on-change"] as const)
  describe(`scaled mode: the email cache across two processes (EMAIL_CACHE_REVALIDATE=${revalidate})`, {
    timeout: 120_000,
  }, () => {
    let fleet: Fleet;
    before(async () => {
      fleet = await startFleet({ processes: 2, env: { EMAIL_CACHE_REVALIDATE: revalidate } });
    });
    after(async () => {
      await fleet?.stop();
    });

    const json = async <T>(base: string, path: string): Promise<T> => {
      const res = await fleet.api(base, path);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as T;
    };
    /** Emails served from the cache: checked against Graph, or (on-change) pages and emails served as last seen. */
    const hits = async (base: string) => {
      const body = await (await fetch(`${base}/metrics`)).text();
      const value = (name: string) =>
        Number(
          body
            .split("\n")
            .find((l) => l.startsWith(`${name} `))
            ?.split(" ")[1] ?? Number.NaN,
        );
      // each: every email of the page and the email, checked against Graph; on-change: the page and the
      // email as one hit each, served without asking Graph.
      return revalidate === "each"
        ? value("mailroom_email_cache_hits_total")
        : value("mailroom_email_cache_unchanged_hits_total");
    };
    const put = async (base: string, id: string, body: unknown) => {
      const res = await fetch(`${base}/api/v1/emails/${id}`, {
        method: "PUT",
        headers: { "x-api-key": fleet.apiKey, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, await res.text());
    };

    it("an email changed through one process is served changed by the other, which had it cached", async () => {
      const [a, b] = fleet.processes.map((p) => p.base) as [string, string];
      const accountId = await fleet.connect(ADELE);
      // on-change serves as last seen only once realtime has synced the mailbox.
      await fleet.waitForBaseline(accountId);
      const list = `/api/v1/emails?account_id=${accountId}&limit=5`;

      // B caches the page and one email (the second reads are hits).
      const first = await json<{ items: Email[] }>(b, list);
      const target = first.items[0]!;
      await json<Email>(b, `/api/v1/emails/${target.id}`);
      const before = await hits(b);
      await json<{ items: Email[] }>(b, list);
      await json<Email>(b, `/api/v1/emails/${target.id}`);
      assert.ok(
        (await hits(b)) >= before + (revalidate === "each" ? 6 : 2),
        "B served the page and the email from its cache",
      );

      // A changes it (read state) and reads it back.
      const wasUnread = target.read_date === null;
      await put(a, target.id, { unread: !wasUnread });
      assert.equal((await json<Email>(a, `/api/v1/emails/${target.id}`)).read_date === null, !wasUnread);

      // B still holds the old version, and never serves it.
      assert.equal((await json<Email>(b, `/api/v1/emails/${target.id}`)).read_date === null, !wasUnread);
      const page = await json<{ items: Email[] }>(b, list);
      assert.equal(page.items.find((e) => e.id === target.id)?.read_date === null, !wasUnread);

      // A move through A: B lists the email in its new folder at once.
      await put(a, target.id, { folders: ["Archive"] });
      const moved = await json<Email>(b, `/api/v1/emails/${target.id}`);
      assert.deepEqual(moved.folders, ["Archive"]);
    });
  });
