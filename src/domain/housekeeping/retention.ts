// What housekeeping removes, and from when (docs/adr/0006-retention.md): one step per kind of row,
// each with the cutoff before which its rows go. Pure: the service runs the steps in this order.

export interface RetentionPolicy {
  /** Finished jobs: `done` ones kept `doneMs`, dead-lettered ones `deadMs` (both runners read these). */
  jobs: { doneMs: number; deadMs: number };
  /** Webhook events and their deliveries, and notify_url deliveries, once their last attempt is final. */
  webhooksMs: number;
  /** The sent-mail log (origin and tracking_id of mail_sent). */
  sentMessagesMs: number;
  /** Hosted links and dashboard invite links, counted from their expiry (or use). */
  linksMs: number;
  /** The realtime message index keeps mail received within this window, per mailbox. */
  realtimeIndexMs: number;
  /** Tracked sends (counted from the send) and their opens and clicks (from when they happened). */
  trackingMs: number;
  /** Period of the housekeeping job. */
  housekeepingEveryMs: number;
}

/** The realtime index forgets a message this long after delta reported it gone (a move shows within a few rounds). */
export const GONE_RETENTION_MS = 7 * 24 * 3_600_000;

export type HousekeepingStepName =
  | "jobs"
  | "webhook_deliveries"
  | "webhook_events"
  | "account_events"
  | "notify_deliveries"
  | "hosted_links"
  | "auth_attempts"
  | "admin_sessions"
  | "admin_invites"
  | "sent_messages"
  | "idempotency_keys"
  | "realtime_window"
  | "realtime_gone"
  | "tracking_events"
  | "tracked_emails";

export interface HousekeepingCutoffs {
  jobs: { doneBefore: number; deadBefore: number };
  webhookDeliveries: number;
  webhookEvents: number;
  accountEvents: number;
  notifyDeliveries: number;
  hostedLinks: number;
  authAttempts: number;
  adminSessions: number;
  adminInvites: number;
  sentMessages: number;
  idempotencyKeys: number;
  realtimeWindow: number;
  realtimeGone: number;
  trackingEvents: number;
  trackedEmails: number;
}

/**
 * The cutoffs of one run. Deliveries go before events (an event is kept while a delivery refers to
 * it), notify deliveries before hosted links (a link is kept while its callback is retried).
 */
export function retentionCutoffs(retention: RetentionPolicy, now: number): HousekeepingCutoffs {
  return {
    jobs: { doneBefore: now - retention.jobs.doneMs, deadBefore: now - retention.jobs.deadMs },
    webhookDeliveries: now - retention.webhooksMs,
    webhookEvents: now - retention.webhooksMs,
    // Their fan-out job ends (done or dead) within hours; the window only keeps them for inspection.
    accountEvents: now - retention.webhooksMs,
    notifyDeliveries: now - retention.webhooksMs,
    hostedLinks: now - retention.linksMs,
    authAttempts: now,
    adminSessions: now,
    adminInvites: now - retention.linksMs,
    sentMessages: now - retention.sentMessagesMs,
    // Each key carries its own expiry (IDEMPOTENCY_KEY_HOURS when it was first used).
    idempotencyKeys: now,
    realtimeWindow: now - retention.realtimeIndexMs,
    realtimeGone: now - Math.min(GONE_RETENTION_MS, retention.realtimeIndexMs),
    // Events before their sends: a send's row is what names its events on the dashboard.
    trackingEvents: now - retention.trackingMs,
    trackedEmails: now - retention.trackingMs,
  };
}
