// Tables of sent mail's follow-ups, beside schema.ts's: tracked sends and their opens and clicks
// (docs/adr/0009), Idempotency-Key answers and scheduled sends (docs/adr/0011).

/** A send with tracking (docs/adr/0009-email-tracking.md) and its counts. */
export interface TrackedEmailTable {
  tracking_id: string;
  account_id: string;
  email_id: string;
  subject: string | null;
  /** The first `to` address, for the dashboard. */
  recipient: string | null;
  label: string | null;
  custom_domain: string | null;
  /** 1 when a pixel was added. */
  opens: number;
  /** How many links were rewritten. */
  links: number;
  sent_at: number;
  open_count: number;
  click_count: number;
  /** Of the counted events, those flagged as machine prefetches. */
  prefetch_count: number;
  first_open_at: number | null;
  last_event_at: number | null;
  last_click_at: number | null;
}

/** An open or a click; its webhook event has the same id. */
export interface TrackingEventTable {
  id: string;
  tracking_id: string;
  account_id: string;
  /** mail_opened or mail_link_clicked. */
  type: string;
  url: string | null;
  ip: string | null;
  user_agent: string | null;
  is_prefetch: number;
  prefetch_reason: string | null;
  occurred_at: number;
}

export interface IdempotencyKeyTable {
  id: string;
  /** SHA-256 of the API key the request came with: keys of different API keys never meet. */
  scope: string;
  idempotency_key: string;
  /** SHA-256 of the method, route and canonical body (attachment bytes included). */
  fingerprint: string;
  /** running (a process holds it while locked_until is ahead) or done (response stored). */
  status: string;
  owner: string | null;
  locked_until: number;
  /** JSON: how far the operation got (a send's draft id), for a retry after a crash. */
  checkpoint: string | null;
  response_status: number | null;
  /** The first answer's body (JSON), encrypted. */
  response_body: string | null;
  created_at: number;
  expires_at: number;
}

export interface ScheduledEmailTable {
  /** The schedule_id. */
  id: string;
  account_id: string;
  /** The waiting draft's Graph immutable id. */
  draft_id: string;
  /** 1 when Mailroom built the draft (cancel deletes it), 0 for a caller's `draft_id`. */
  owns_draft: number;
  tracking_id: string;
  send_at: number;
  /** scheduled | sending | sent | failed | cancelled */
  status: string;
  subject: string | null;
  /** JSON: the `to` attendees as given. */
  to_attendees: string;
  /** Why it failed, or the last error of a send being retried. */
  error: string | null;
  /** Why a due send waits (account_needs_reauth). */
  waiting_reason: string | null;
  attempts: number;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}
