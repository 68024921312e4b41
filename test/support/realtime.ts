// Shared by the realtime tests: a connected mailbox, an email webhook at a local receiver, mail
// from outside through the sandbox, and the receiver's events.
import assert from "node:assert/strict";
import { SEED_PASSWORD } from "../../sandbox/src/seed.ts";
import type { Services } from "../../src/app/services.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./browser.ts";
import type { ConnectHarness, ReceivedRequest, startReceiver } from "./connect-harness.ts";
import { until } from "./until.ts";

export const ADELE = "adele.vance@contoso.onmicrosoft.com";

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

export function eventsOf(
  receiver: Receiver,
): { id: string; body: Record<string, unknown>; raw: ReceivedRequest }[] {
  return receiver.received.map((raw) => ({
    id: String(raw.headers["x-mailroom-event-id"]),
    body: JSON.parse(raw.body) as Record<string, unknown>,
    raw,
  }));
}

export async function deliverMail(sandboxUrl: string, subject: string, to = ADELE): Promise<string> {
  const res = await fetch(`${sandboxUrl}/_sandbox/mail`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      from: "Ada Lovelace <ada@fabrikam.example>",
      to: [to],
      subject,
      body: `<p>Hello about ${subject}</p>`,
      body_type: "html",
    }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const json = JSON.parse(text) as { delivered: { message_id: string }[] };
  return json.delivered[0]!.message_id;
}

export async function connectAdele(h: ConnectHarness): Promise<string> {
  const link = await h.createLink({ type: "create", providers: "*" });
  await connectThroughWizard(new MultiOriginBrowser([h.baseUrl, h.sandbox.url]), link.json.url as string, {
    email: ADELE,
    password: SEED_PASSWORD,
  });
  const rows = await h.services.repos.accounts.page(10);
  return rows.find((r) => r.email === ADELE)!.id;
}

export async function createEmailWebhook(
  h: ConnectHarness,
  receiverUrl: string,
): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${h.baseUrl}/api/v1/webhooks`, {
    method: "POST",
    headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
    body: JSON.stringify({
      request_url: receiverUrl,
      source: "email",
      name: "realtime",
      events: ["mail_received", "mail_sent", "mail_moved"],
    }),
  });
  const json = (await res.json()) as { webhook_id: string; secret: string };
  assert.equal(res.status, 201, JSON.stringify(json));
  return { id: json.webhook_id, secret: json.secret };
}

export async function waitForBaseline(services: Services, accountId: string): Promise<void> {
  await until(
    "the first delta sync (baseline)",
    async () => (await services.realtime.status(accountId))?.baseline_at != null,
    20_000,
  );
}
