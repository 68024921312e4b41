// The subscription model: stored subscriptions, delivery attempts, Outlook's limits and the
// engine's default timings (reference §4.1).
import type { MailChangeEvent, SubscriptionTimings } from "../state.ts";

export const SUBSCRIPTION_DEFAULTS: Required<SubscriptionTimings> = {
  validationTimeoutMs: 10_000,
  notificationTimeoutMs: 3_000,
  retryBaseMs: 1_000,
  retryWindowMs: 3 * 60_000,
  batchWindowMs: 150,
  sweepIntervalMs: 1_000,
  reauthorizationLeadMs: 15 * 60_000,
};

/** Outlook message subscriptions live at most 10,080 minutes (reference §4.1). */
export const MAX_MESSAGE_SUBSCRIPTION_MINUTES = 10_080;
/** 1,000 active subscriptions per mailbox, all apps together (reference §4.1). */
export const MAX_SUBSCRIPTIONS_PER_MAILBOX = 1_000;

export type ChangeType = MailChangeEvent["changeType"];
export const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

export function isLifecycleEvent(value: unknown): value is LifecycleEvent {
  return (LIFECYCLE_EVENTS as readonly unknown[]).includes(value);
}

export interface StoredSubscription {
  id: string;
  userId: string;
  tenantId: string;
  clientId: string;
  resource: string;
  /** Folder id or well-known name when the resource is one folder's messages; null = all messages. */
  folderRef: string | null;
  changeType: string;
  changeTypes: Set<ChangeType>;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  latestSupportedTlsVersion: string;
  expiresAt: number;
  createdAt: number;
  /** Created with `Prefer: IdType="ImmutableId"`: notifications carry immutable ids (reference §3.7). */
  immutableIds: boolean;
  /** Set once reauthorizationRequired was sent for the current expiry/grant; cleared by renew/reauthorize. */
  reauthorizationSent: boolean;
}

export interface DeliveryAttempt {
  id: string;
  kind: "validation" | "notification" | "lifecycle";
  url: string;
  subscriptionIds: string[];
  attempt: number;
  at: string;
  status: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  /** "delivered", "retry-scheduled", "dropped" (gave up) or "failed" (validation). */
  outcome: "delivered" | "retry-scheduled" | "dropped" | "failed";
  body: unknown;
}

export type ValidationResult = { ok: true } | { ok: false; reason: "failed" | "timeout" };
