// From a batch of hits to stored rows, count updates and webhook events (pure): each hit of a known
// tracked send becomes one tracking event and one `mail_opened` / `mail_link_clicked` webhook event
// with the same id. Hits of sends Mailroom does not know (removed by retention, another database)
// are left out.
import type {
  TrackedEmailCounts,
  TrackedEmailRow,
  TrackingEventRow,
} from "../../storage/repositories/tracking.repository.ts";
import type { PublishedEvent } from "../webhooks/outbox.ts";
import { classifyPrefetch } from "./prefetch.ts";
import type { TrackingHit } from "./recorder.ts";

export const TRACKING_EVENT_TYPES = { open: "mail_opened", click: "mail_link_clicked" } as const;

export interface TrackingBatch {
  rows: TrackingEventRow[];
  counts: Map<string, TrackedEmailCounts>;
  published: PublishedEvent[];
}

export function trackingBatch(
  hits: readonly TrackingHit[],
  emails: ReadonlyMap<string, TrackedEmailRow>,
  newId: () => string,
): TrackingBatch {
  const rows: TrackingEventRow[] = [];
  const counts = new Map<string, TrackedEmailCounts>();
  const published: PublishedEvent[] = [];
  const lastClick = new Map<string, number | null>();
  for (const hit of [...hits].sort((a, b) => a.at - b.at)) {
    const { target } = hit;
    const email = emails.get(target.trackingId);
    if (!email) continue;
    const previousClickAt = lastClick.has(email.tracking_id)
      ? lastClick.get(email.tracking_id)!
      : email.last_click_at;
    const verdict = classifyPrefetch({
      kind: target.kind,
      userAgent: hit.userAgent,
      at: hit.at,
      sentAt: email.sent_at,
      previousClickAt,
    });
    if (target.kind === "click") lastClick.set(email.tracking_id, hit.at);
    const type = TRACKING_EVENT_TYPES[target.kind];
    const url = target.kind === "click" ? target.url : null;
    const row: TrackingEventRow = {
      id: newId(),
      tracking_id: email.tracking_id,
      account_id: email.account_id,
      type,
      url,
      ip: hit.ip ?? null,
      user_agent: hit.userAgent ?? null,
      is_prefetch: verdict.isPrefetch ? 1 : 0,
      prefetch_reason: verdict.reason ?? null,
      occurred_at: hit.at,
    };
    rows.push(row);
    const c = counts.get(email.tracking_id) ?? {
      opens: 0,
      clicks: 0,
      prefetches: 0,
      firstOpenAt: null,
      lastEventAt: hit.at,
      lastClickAt: null,
    };
    if (target.kind === "open") {
      c.opens++;
      c.firstOpenAt ??= hit.at;
    } else {
      c.clicks++;
      c.lastClickAt = hit.at;
    }
    if (verdict.isPrefetch) c.prefetches++;
    c.lastEventAt = hit.at;
    counts.set(email.tracking_id, c);
    published.push({
      id: row.id,
      type,
      accountId: email.account_id,
      payload: trackingPayload(row, email),
    });
  }
  return { rows, counts, published };
}

/**
 * The email_tracking payload before per-webhook shaping (reference unipile §3.5 keys; the outbox adds
 * `account_id`, `event` and `webhook_name`). `is_prefetch` and `prefetch_reason` are Mailroom's.
 */
export function trackingPayload(row: TrackingEventRow, email: TrackedEmailRow): Record<string, unknown> {
  return {
    email_id: email.email_id,
    event_id: row.id,
    tracking_id: row.tracking_id,
    type: row.type,
    date: new Date(row.occurred_at).toISOString(),
    ip: row.ip,
    user_agent: row.user_agent,
    ...(row.url !== null ? { url: row.url } : {}),
    label: email.label,
    custom_domain: email.custom_domain,
    is_prefetch: row.is_prefetch === 1,
    ...(row.prefetch_reason !== null ? { prefetch_reason: row.prefetch_reason } : {}),
  };
}
