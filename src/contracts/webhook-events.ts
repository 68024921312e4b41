// The events a webhook can subscribe to, per source: one list for the webhook domain, the /api/v1
// webhook routes and the dashboard. Imports nothing, so the browser bundle can use it as is.

export const EMAIL_EVENTS = ["mail_received", "mail_sent", "mail_moved"] as const;
export type MailEventType = (typeof EMAIL_EVENTS)[number];

/** Unipile's account_status event names (SPEC), lower case; the payload's `message` is the upper case. */
export const ACCOUNT_STATUS_EVENTS = [
  "ok",
  "credentials",
  "error",
  "stopped",
  "connecting",
  "creation_success",
  "creation_fail",
  "reconnected",
  "deleted",
  "sync_success",
  "permissions",
] as const;
export type AccountStatusEventType = (typeof ACCOUNT_STATUS_EVENTS)[number];

/** Email tracking (opens of the pixel, clicks of tracked links) of mail sent with tracking_options. */
export const TRACKING_EVENTS = ["mail_opened", "mail_link_clicked"] as const;
export type TrackingEventType = (typeof TRACKING_EVENTS)[number];

export const WEBHOOK_SOURCES = ["email", "account_status", "email_tracking"] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/** The events each source can subscribe to (the first is the default of a new email webhook). */
export const WEBHOOK_EVENTS: { readonly [S in WebhookSource]: readonly string[] } = {
  email: EMAIL_EVENTS,
  account_status: ACCOUNT_STATUS_EVENTS,
  email_tracking: TRACKING_EVENTS,
};
