// Idempotency-Key across processes on PostgreSQL (docs/adr/0011-send-once-and-scheduled.md): two
// Mailroom processes (`mailroom start`, children) on one database get the same key at once; the unique
// constraint on the key's row lets one of them send, the others wait for its answer. One message in the
// recipient's mailbox, one answer. Runs the bundle: `node scripts/build.mjs` after changing src/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type StartedMailroom, startMailroom } from "./support/cli.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";

describe("Idempotency-Key across two processes on PostgreSQL", () => {
  let h: ConnectHarness;
  const children: StartedMailroom[] = [];
  let adeleId: string;

  before(async () => {
    h = await startConnectHarness("postgres", { seedCorpus: false });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    const database = h.t.config.database;
    assert.equal(database.kind, "postgres");
    const env = {
      DATA_DIR: h.t.dataDir,
      DATABASE_URL: database.kind === "postgres" ? database.url : "",
      SANDBOX: "off",
      MICROSOFT_LOGIN_URL: h.sandbox.url,
      MICROSOFT_GRAPH_URL: h.sandbox.url,
      POLL_INTERVAL_SECONDS: "86400",
    };
    children.push(...(await Promise.all([startMailroom({ env }), startMailroom({ env })])));
  });
  after(async () => {
    for (const child of children) await child.stop("SIGKILL");
    await h.dispose();
  });

  it("racing duplicates sent to different processes send one message and all get the first answer", async () => {
    // Microsoft answers the send slowly, so the duplicates arrive while the first is in flight.
    await fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "send_answer_delay", user: ADELE, ms: 800 }),
    });
    const body = JSON.stringify({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "one of many processes",
      body: "once",
    });
    const headers = {
      "x-api-key": h.t.apiKey,
      "content-type": "application/json",
      "idempotency-key": "pg-race",
    };
    const bases = [children[0]!.base, children[1]!.base, children[0]!.base, children[1]!.base, h.baseUrl];
    const answers = await Promise.all(
      bases.map(async (base) => {
        const res = await fetch(`${base}/api/v1/emails`, { method: "POST", headers, body });
        return { status: res.status, body: (await res.json()) as { id: string; tracking_id: string } };
      }),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      [201, 201, 201, 201, 201],
    );
    assert.equal(new Set(answers.map((a) => a.body.tracking_id)).size, 1);
    const megan = mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(MEGAN)!.id);
    assert.equal(megan.all.filter((m) => m.subject === "one of many processes" && !m.isDraft).length, 1);
    const keys = await h.services.storage.db.selectFrom("idempotency_keys").select("status").execute();
    assert.deepEqual(keys, [{ status: "done" }]);
  });
});
