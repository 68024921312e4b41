// Exactly once across a crash (docs/adr/0011-send-once-and-scheduled.md): a Mailroom process (started
// as a child, `mailroom start`) sends with an Idempotency-Key; Microsoft (the sandbox, holding the
// answer back with `send_answer_delay`) has sent the mail when the process is killed (SIGKILL) before
// it hears so. The retry with the same key, to another Mailroom on the same database, finds the draft
// it recorded with the key no longer a draft and answers with it: one message in the recipient's
// mailbox. Runs the bundle: `node scripts/build.mjs` after changing src/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type StartedMailroom, startMailroom } from "./support/cli.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";

describe("Idempotency-Key across a crash", () => {
  let h: ConnectHarness;
  let child: StartedMailroom | undefined;
  let adeleId: string;

  const scenario = async (body: Record<string, unknown>) => {
    const res = await fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const received = (subject: string) =>
    mailboxes(h.sandbox.state)
      .get(h.sandbox.state.userByEmail(MEGAN)!.id)
      .all.filter((m) => m.subject === subject && !m.isDraft).length;

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: false });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
  });
  after(async () => {
    await child?.stop("SIGKILL");
    await h.dispose();
  });

  it("a process killed after Microsoft accepted the send and before it stored the answer: the retry sends nothing more and answers with that message", async () => {
    child = await startMailroom({
      env: {
        DATA_DIR: h.t.dataDir,
        DATABASE_URL: `sqlite://${h.t.database.sqlitePath}`,
        SANDBOX: "off",
        MICROSOFT_LOGIN_URL: h.sandbox.url,
        MICROSOFT_GRAPH_URL: h.sandbox.url,
        POLL_INTERVAL_SECONDS: "86400",
      },
    });
    const body = JSON.stringify({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "sent before the crash",
      body: "exactly once",
    });
    const headers = {
      "x-api-key": h.t.apiKey,
      "content-type": "application/json",
      "idempotency-key": "crash-1",
    };
    await scenario({ action: "send_answer_delay", user: ADELE, ms: 60_000 });
    const lost = fetch(`${child.base}/api/v1/emails`, { method: "POST", headers, body }).catch(
      () => undefined,
    );
    await until("Microsoft to have sent the mail", () => received("sent before the crash") === 1, {
      timeoutMs: 30_000,
    });
    await child.stop("SIGKILL");
    child = undefined;
    assert.equal(await lost, undefined, "the first request never got an answer");
    await scenario({ action: "clear_faults", user: ADELE });

    // The dead process's lease on the key lapses; the retry waits for it (IDEMPOTENCY_WAIT_SECONDS).
    const retry = await fetch(`${h.baseUrl}/api/v1/emails`, { method: "POST", headers, body });
    assert.equal(retry.status, 201, await retry.clone().text());
    const sent = (await retry.json()) as { object: string; id: string; tracking_id: string };
    assert.equal(sent.object, "EmailSent");
    const row = await h.services.storage.db
      .selectFrom("idempotency_keys")
      .select(["checkpoint", "status"])
      .where("idempotency_key", "=", "crash-1")
      .executeTakeFirstOrThrow();
    const checkpoint = JSON.parse(row.checkpoint ?? "{}") as { draftId: string; trackingId: string };
    assert.equal(row.status, "done");
    assert.equal(sent.tracking_id, checkpoint.trackingId, "the answer is the first send's");
    assert.equal(received("sent before the crash"), 1);
    const again = await fetch(`${h.baseUrl}/api/v1/emails`, { method: "POST", headers, body });
    assert.deepEqual(await again.json(), sent);
    assert.equal(received("sent before the crash"), 1);
  });
});
