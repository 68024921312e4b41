// "Send test event": a synthetic event delivered to one webhook through the real outbox.
import type { JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import { newId } from "../../lib/ids.ts";
import type { WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import { enqueueDelivery } from "./outbox.ts";
import { mustFindWebhook } from "./webhook-admin.service.ts";
import { newDelivery, parseList, TEST_EVENT_PREFIX } from "./webhook-model.ts";

const TEST_ACCOUNT_ID = "mailroom-test-account";

/**
 * A synthetic event of the webhook's source, in the documented shape and clearly marked as a test
 * (event id `test_…`, the `X-Mailroom-Test: true` header, `mailroom_test: true` in the body, a
 * "Mailroom test event" subject), delivered to this webhook only through the real outbox: stored,
 * signed, retried and listed among its deliveries like any other. The event, its delivery and the
 * delivery's job are stored in one unit of work.
 */
export async function sendTestEvent(
  d: { repo: WebhookRepository; queue: JobQueue; clock: Clock; transaction: UnitOfWorkRunner },
  webhookId: string,
): Promise<{ eventId: string; deliveryId: string }> {
  const webhook = await mustFindWebhook(d.repo, webhookId);
  const now = d.clock.now();
  const id = `${TEST_EVENT_PREFIX}${newId()}`;
  const { type, payload } = testEvent(webhook.source, parseList<string>(webhook.events), id, now);
  return d.transaction(async (uow) => {
    await uow.webhooks.insertEvents([
      {
        id,
        type,
        source: webhook.source,
        account_id: TEST_ACCOUNT_ID,
        payload: JSON.stringify(payload),
        created_at: now,
      },
    ]);
    const delivery = await uow.webhooks.ensureDelivery(newDelivery(id, webhook.id, now));
    await enqueueDelivery(d.queue, delivery, uow.tx);
    return { eventId: id, deliveryId: delivery.id };
  });
}

/** The test event of a webhook: its first subscribed event, in the documented shape. */
export function testEvent(
  source: "email" | "account_status" | "email_tracking",
  events: string[],
  eventId: string,
  now: number,
): { type: string; payload: Record<string, unknown> } {
  if (source === "account_status")
    return {
      type: "account_status",
      payload: {
        AccountStatus: {
          account_id: TEST_ACCOUNT_ID,
          account_type: "OUTLOOK",
          message: (events[0] ?? "ok").toUpperCase(),
        },
        mailroom_test: true,
      },
    };
  if (source === "email_tracking") {
    const type = events[0] ?? "mail_opened";
    return {
      type,
      payload: {
        email_id: eventId,
        event_id: eventId,
        tracking_id: "mailroom-test-tracking-id",
        type,
        date: new Date(now).toISOString(),
        ip: "192.0.2.1",
        user_agent: "Mailroom test event",
        ...(type === "mail_link_clicked" ? { url: "https://example.com/" } : {}),
        label: null,
        custom_domain: null,
        is_prefetch: false,
        mailroom_test: true,
      },
    };
  }
  const type = events[0] ?? "mail_received";
  return { type, payload: testEmailPayload(eventId, now, type) };
}

/** The email payload of reference §3.3, filled with obviously synthetic values. */
function testEmailPayload(eventId: string, now: number, type: string): Record<string, unknown> {
  const sender = {
    display_name: "Mailroom",
    identifier: "test@mailroom.invalid",
    identifier_type: "EMAIL_ADDRESS",
  };
  return {
    email_id: eventId,
    account_id: TEST_ACCOUNT_ID,
    date: new Date(now).toISOString(),
    from_attendee: sender,
    to_attendees: [{ ...sender, display_name: "Webhook receiver", identifier: "receiver@mailroom.invalid" }],
    cc_attendees: [],
    bcc_attendees: [],
    reply_to_attendees: [],
    provider_id: eventId,
    message_id: `<${eventId}@mailroom.invalid>`,
    has_attachments: false,
    subject: "Mailroom test event",
    body: "<p>A test event sent from the Mailroom dashboard. No mailbox received this message.</p>",
    body_plain: "A test event sent from the Mailroom dashboard. No mailbox received this message.",
    attachments: [],
    folders: [type === "mail_sent" ? "Sent Items" : "Inbox"],
    role: type === "mail_sent" ? "sent" : "inbox",
    read_date: null,
    is_complete: true,
    origin: type === "mail_sent" ? "mailroom" : "external",
    thread_id: eventId,
    mailroom_test: true,
  };
}
