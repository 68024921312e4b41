// What the realtime parts share: their dependencies, options and the paths Graph posts to.
import type { JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/logger.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { AccountPageCursor, AccountRow } from "../../storage/repositories/account.repository.ts";
import type { RealtimeRepository } from "../../storage/repositories/realtime.repository.ts";
import type { EmailObject } from "../email/email.types.ts";
import type { FolderTree } from "../email/folder-directory.ts";
import type { MailEventType } from "./mail-events.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "realtime.poll": { accountId: string };
    "realtime.sync": {
      accountId: string;
      reason: "connect" | "notification" | "missed" | "resubscribed" | "catch-up";
    };
    "realtime.subscription": { accountId: string; action: "ensure" | "reauthorize" | "recreate" };
    "realtime.watchdog": Record<string, never>;
  }
}

export interface MailEvent {
  id: string;
  type: MailEventType;
  accountId: string;
  payload: Record<string, unknown>;
}

/** Where mail events go: the webhook outbox (`WebhookService.publish`, idempotent per event id). */
export interface MailEventPublisher {
  publish(event: MailEvent): Promise<unknown>;
  /** Several events in one commit (`WebhookService.publishMany`), all or none. */
  publishMany?(events: MailEvent[]): Promise<unknown>;
}

/** Where a sent message came from: Mailroom's API (with the send's `tracking_id`) or elsewhere. */
export interface SentOrigin {
  origin: "unipile" | "external";
  trackingId?: string;
}

/** Whether a sent message went out through Mailroom's API (the send side records it: `SentMailLog`). */
export interface SentOriginLookup {
  originOf(accountId: string, graphId: string): Promise<SentOrigin>;
}

export interface RealtimeAccounts {
  findById(id: string): Promise<AccountRow | undefined>;
  page(limit: number, after?: AccountPageCursor): Promise<AccountRow[]>;
}

export interface RealtimeOptions {
  /** Delta poll interval per account without a healthy subscription. */
  pollIntervalMs: number;
  /** Polls one process runs at once (default 64). */
  pollConcurrency?: number;
  /** Create Graph subscriptions (PUBLIC_URL https, or forced on). */
  subscriptionsEnabled: boolean;
  /** Public origin Graph posts notifications to. */
  publicUrl: string;
  /** Safety-net poll interval while a subscription is healthy (field-lessons FL-16). */
  healthyPollIntervalMs?: number;
  /** Requested subscription lifetime (Outlook maximum: 10,080 minutes, reference §4.1). */
  subscriptionLifetimeMs?: number;
  /** Renew when less than this is left. */
  renewBeforeMs?: number;
  watchdogIntervalMs?: number;
  /**
   * Window of the message index (REALTIME_INDEX_DAYS): a fresh delta round reads only mail received
   * within it, and unknown mail older than it is not announced. Absent: no window.
   */
  indexWindowMs?: number;
}

/** Mapped emails held in memory (email-cache.ts): told what realtime saw change, to drop them early. */
export interface SeenChanges {
  forget(accountId: string, graphIds: Iterable<string>): void;
  forgetAccount(accountId: string): void;
}

export interface RealtimeDeps {
  repo: RealtimeRepository;
  accounts: RealtimeAccounts;
  graph: GraphClient;
  folders: { tree(accountId: string, options?: { fresh?: boolean }): Promise<FolderTree> };
  /** The email API's read side: the email part of each payload is exactly its `get`. */
  email: {
    get(id: string, accountId: string | undefined): Promise<EmailObject>;
    /** Many messages of one account, read in `$batch` requests (a round with several events). */
    emailsOf(account: AccountRow, graphIds: readonly string[]): Promise<Map<string, EmailObject>>;
  };
  emailCache?: SeenChanges;
  publisher: MailEventPublisher;
  sentOrigin?: SentOriginLookup;
  queue: JobQueue;
  clock: Clock;
  log: Logger;
  options: RealtimeOptions;
}

export const NOTIFICATION_PATH = "/api/v1/realtime/graph/notifications";
export const LIFECYCLE_PATH = "/api/v1/realtime/graph/lifecycle";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/**
 * The exclusive key of every job that syncs the account (realtime.sync, realtime.poll): one sync per
 * account at a time across processes, and a sync asked for while one runs waits for it.
 */
export function syncKey(accountId: string): string {
  return `realtime.sync:${accountId}`;
}
