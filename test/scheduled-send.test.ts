// Scheduled send (docs/adr/0011-send-once-and-scheduled.md) against the sandbox's Graph over HTTP:
// `send_at` answers 202 EmailScheduled and the mail goes out at that time, not before; the scheduled
// routes list, read and cancel; Microsoft's throttling past the retry budget fails the send with its
// reason; a draft deleted in Outlook fails it without a loop; an account that must sign in again makes
// it wait and a reconnect sends it; the schedule survives a restart of Mailroom.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { SEED_PASSWORD } from "../sandbox/src/seed.ts";
import { buildServices } from "../src/app/services.ts";
import { mailroomId } from "../src/domain/email/email-ids.ts";
import { createLogger } from "../src/lib/logger.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./support/browser.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";

type Scheduled = { object: string; schedule_id: string; tracking_id: string; send_at: string };
type View = { status: string; error?: string; waiting_reason?: string; subject: string; schedule_id: string };

describe("scheduled send", () => {
  let h: ConnectHarness;
  let adeleId: string;

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${h.baseUrl}${url}`, {
      method,
      headers: {
        "x-api-key": h.t.apiKey,
        ...(body !== undefined && !(body instanceof FormData) ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: body instanceof FormData ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const scenario = async (body: Record<string, unknown>) => {
    const res = await fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const store = (email: string) => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(email)!.id);
  const inbox = (email: string, subject: string) => {
    const user = h.sandbox.state.userByEmail(email)!;
    return mailboxes(h.sandbox.state)
      .get(user.id)
      .all.filter((m) => m.subject === subject && !m.isDraft);
  };
  const schedule = async (subject: string, inMs: number, extra: Record<string, unknown> = {}) => {
    const res = await api("POST", "/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject,
      body: `<p>${subject}</p>`,
      send_at: new Date(Date.now() + inMs).toISOString(),
      ...extra,
    });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    return res.json as unknown as Scheduled;
  };
  const statusOf = async (id: string) =>
    (await api("GET", `/api/v1/emails/scheduled/${id}`)).json as unknown as View;
  const settle = (id: string, status: string, timeoutMs = 30_000) =>
    until(
      `schedule ${id} to be ${status}`,
      async () => {
        const view = await statusOf(id);
        return view.status === status ? view : undefined;
      },
      { timeoutMs },
    );

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: false });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
  });
  after(async () => {
    await h.dispose();
  });

  it("send_at in the past, beyond SCHEDULE_MAX_DAYS or not a date is 400 naming send_at, and creates nothing", async () => {
    const base = { account_id: adeleId, to: [{ identifier: MEGAN }], subject: "bad time", body: "x" };
    for (const send_at of [
      new Date(Date.now() - 60_000).toISOString(),
      new Date(Date.now() + 91 * 86_400_000).toISOString(),
      "tomorrow",
      "2030-02-31T10:00:00Z",
      "",
    ]) {
      const res = await api("POST", "/api/v1/emails", { ...base, send_at });
      assert.equal(res.status, 400, send_at);
      assert.equal(res.json.type, "errors/invalid_parameters");
      assert.match(String(res.json.detail), /send_at/);
    }
    assert.deepEqual((await api("GET", "/api/v1/emails/scheduled")).json.items, []);
  });

  it("POST /api/v1/drafts refuses send_at by name (JSON and multipart) and creates no draft; the draft is scheduled through POST /api/v1/emails with draft_id", async () => {
    const drafts = () => store(ADELE).all.filter((m) => m.isDraft).length;
    const before = drafts();
    const sendAt = new Date(Date.now() + 60_000).toISOString();
    const base = { account_id: adeleId, to: [{ identifier: MEGAN }], subject: "draft later", body: "x" };
    const form = new FormData();
    form.append("account_id", adeleId);
    form.append("to", JSON.stringify([{ identifier: MEGAN }]));
    form.append("body", "x");
    form.append("send_at", sendAt);
    form.append("attachments", new Blob(["bytes"]), "a.txt");
    for (const body of [{ ...base, send_at: sendAt }, { ...base, send_at: "" }, form]) {
      const res = await api("POST", "/api/v1/drafts", body);
      assert.deepEqual([res.status, res.json.type], [400, "errors/invalid_parameters"]);
      assert.match(
        String(res.json.detail),
        /^send_at: .*POST \/api\/v1\/emails with its draft_id and send_at/,
      );
    }
    assert.equal(drafts(), before, "no draft was created");

    const created = await api("POST", "/api/v1/drafts", base);
    assert.equal(created.status, 200);
    const draftId = String(created.json.draft_id);
    const scheduled = await api("POST", "/api/v1/emails", {
      ...base,
      draft_id: draftId,
      send_at: new Date(Date.now() + 1_500).toISOString(),
    });
    assert.equal(scheduled.status, 202, JSON.stringify(scheduled.json));
    await settle(String(scheduled.json.schedule_id), "sent");
    assert.equal(inbox(MEGAN, "draft later").length, 1);
  });

  it("a scheduled email waits as a draft and goes out at send_at, not before, with origin unipile and its tracking_id", async () => {
    const form = new FormData();
    form.append("account_id", adeleId);
    form.append("to", JSON.stringify([{ identifier: MEGAN }]));
    form.append("subject", "later please");
    form.append("body", "see the file");
    form.append("send_at", new Date(Date.now() + 2_500).toISOString());
    form.append("attachments", new Blob(["file bytes"]), "notes.txt");
    const res = await api("POST", "/api/v1/emails", form);
    assert.equal(res.status, 202);
    const scheduled = res.json as unknown as Scheduled;
    assert.equal(scheduled.object, "EmailScheduled");
    assert.ok(scheduled.tracking_id.length > 0);
    const sendAt = Date.parse(scheduled.send_at);
    const view = await statusOf(scheduled.schedule_id);
    assert.equal(view.status, "scheduled");
    assert.equal(inbox(MEGAN, "later please").length, 0);
    const sent = await settle(scheduled.schedule_id, "sent");
    assert.equal(sent.subject, "later please");
    const [received] = inbox(MEGAN, "later please");
    assert.ok(received, "delivered to the recipient");
    assert.ok((received.sentAt ?? 0) >= sendAt - 1000, "not sent before send_at");
    assert.equal(received.attachments?.length ?? 0, 1);
    const row = (await h.services.storage.db
      .selectFrom("scheduled_emails")
      .selectAll()
      .where("id", "=", scheduled.schedule_id)
      .executeTakeFirst())!;
    const email = await api("GET", `/api/v1/emails/${encodeURIComponent(mailroomId(adeleId, row.draft_id))}`);
    assert.equal(email.json.origin, "unipile");
    assert.equal(email.json.tracking_id, scheduled.tracking_id);
    assert.equal(inbox(MEGAN, "later please").length, 1);
  });

  it("lists by account with cursor paging, is not taken for an email id, and cancels a waiting email (409 after)", async () => {
    const a = await schedule("cancel me", 600_000);
    const b = await schedule("keep me", 700_000);
    const page1 = await api("GET", `/api/v1/emails/scheduled?account_id=${adeleId}&limit=1`);
    assert.equal(page1.status, 200);
    assert.equal(page1.json.object, "ScheduledEmailList");
    const items1 = page1.json.items as View[];
    assert.equal(items1.length, 1);
    assert.ok(typeof page1.json.cursor === "string");
    const page2 = await api(
      "GET",
      `/api/v1/emails/scheduled?account_id=${adeleId}&limit=250&cursor=${encodeURIComponent(String(page1.json.cursor))}`,
    );
    const ids = [...items1, ...(page2.json.items as View[])].map((i) => i.schedule_id);
    assert.ok(ids.includes(a.schedule_id) && ids.includes(b.schedule_id));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual((await api("GET", "/api/v1/emails/scheduled?account_id=nobody")).json.items, []);

    const cancelled = await api("DELETE", `/api/v1/emails/scheduled/${a.schedule_id}`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.json.status, "cancelled");
    const again = await api("DELETE", `/api/v1/emails/scheduled/${a.schedule_id}`);
    assert.equal(again.status, 409);
    assert.equal(again.json.type, "errors/operation_canceled");
    assert.equal((await api("GET", "/api/v1/emails/scheduled/nope")).status, 404);
    // The draft is deleted from the mailbox by the job enqueued with the cancellation.
    const adele = mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);
    await until("the cancelled draft to be deleted", () => !adele.all.some((m) => m.subject === "cancel me"));
    await api("DELETE", `/api/v1/emails/scheduled/${b.schedule_id}`);
  });

  it("a send throttled past every retry is failed with Microsoft's reason after 10 attempts", async () => {
    const s = await schedule("always throttled", 1_000);
    await scenario({ action: "throttle", user: ADELE, count: 10_000, retry_after: 0.01 });
    try {
      const failed = await settle(s.schedule_id, "failed", 60_000);
      assert.match(failed.error ?? "", /too_many_requests/);
      assert.match(failed.error ?? "", /10 attempts/);
    } finally {
      await scenario({ action: "clear_faults", user: ADELE });
    }
    assert.equal(inbox(MEGAN, "always throttled").length, 0);
  });

  it("a draft deleted in Outlook before send_at fails the send with that reason, once", async () => {
    const s = await schedule("deleted draft", 1_500);
    const row = (await h.services.storage.db
      .selectFrom("scheduled_emails")
      .selectAll()
      .where("id", "=", s.schedule_id)
      .executeTakeFirst())!;
    const del = await fetch(
      `${h.baseUrl}/api/v1/emails/${encodeURIComponent(mailroomId(adeleId, row.draft_id))}`,
      {
        method: "DELETE",
        headers: { "x-api-key": h.t.apiKey },
      },
    );
    assert.equal(del.status, 200);
    const failed = await settle(s.schedule_id, "failed");
    assert.match(failed.error ?? "", /deleted/);
    const jobs = await h.services.storage.db
      .selectFrom("jobs")
      .select(["status", "attempts"])
      .where("idempotency_key", "=", `scheduled-send:${s.schedule_id}`)
      .execute();
    assert.deepEqual(jobs, [{ status: "done", attempts: 1 }]);
  });

  it("an account that must sign in again makes a due send wait (waiting_reason), and a reconnect sends it", async () => {
    const s = await schedule("after reconnect", 1_000);
    await scenario({ action: "revoke_tokens", user: ADELE });
    const waiting = await until("the send to wait for the account", async () => {
      const view = await statusOf(s.schedule_id);
      return view.waiting_reason === "account_needs_reauth" ? view : undefined;
    });
    assert.equal(waiting.status, "scheduled");
    assert.equal(inbox(MEGAN, "after reconnect").length, 0);
    const link = await h.createLink({ type: "reconnect", reconnect_account: adeleId });
    await connectThroughWizard(new MultiOriginBrowser([h.baseUrl, h.sandbox.url]), String(link.json.url), {
      email: ADELE,
      password: SEED_PASSWORD,
    });
    const sent = await settle(s.schedule_id, "sent");
    assert.equal(sent.waiting_reason, undefined);
    assert.equal(inbox(MEGAN, "after reconnect").length, 1);
  });

  it("a schedule survives a restart: another Mailroom on the same database sends it", async () => {
    await h.services.jobs.stop();
    const s = await schedule("across a restart", 1_500);
    const second = await buildServices(h.t.config, createLogger({ level: "silent" }), {
      jobs: { pollIntervalMs: 20 },
    });
    try {
      await second.jobs.start();
      await until(
        "the restarted Mailroom to send it",
        async () => (await second.scheduled.get(s.schedule_id)).status === "sent",
        { timeoutMs: 30_000 },
      );
      assert.equal(inbox(MEGAN, "across a restart").length, 1);
    } finally {
      await second.close();
    }
  });
});
