// Getting events from Microsoft. Per account: delta rounds over every folder (reference §3.8), run by
// a jittered poll schedule and, when PUBLIC_URL is https (or GRAPH_SUBSCRIPTIONS=on), woken early by a
// Graph subscription on me/messages (§4). One sync per account at a time (a lease in the database);
// a sync publishes its events to the webhook outbox under stable ids, then commits the message index
// and the folders' delta links together, so a crash at any point replays into the same event ids.
import { randomUUID } from "node:crypto";
import type { JobDefinition, JobKind, JobQueue } from "../../jobs/queue.ts";
import { RetryLaterError } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { type DeltaRound, readDeltaRound } from "../../providers/microsoft/delta.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import {
  clientStateMatches,
  createSubscription,
  deleteSubscription,
  hashClientState,
  newClientState,
  parseChangeNotifications,
  parseLifecycleNotifications,
  reauthorizeSubscription,
  renewSubscription,
} from "../../providers/microsoft/subscriptions.ts";
import type { AccountPageCursor, AccountRow } from "../../storage/repositories/account.repository.ts";
import type {
  MessagePlacement,
  RealtimeAccountRow,
  RealtimeRepository,
} from "../../storage/repositories/realtime.repository.ts";
import type { AccountEvents } from "../accounts/account-events.ts";
import type { EmailObject, FolderRole } from "../email/email.types.ts";
import { mailroomId } from "../email/email-ids.ts";
import type { FolderTree } from "../email/folder-directory.ts";
import { classify, type MailEventType, mailEventId, mailPayload, messageKey } from "./mail-events.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "realtime.poll": { accountId: string; slot: number };
    "realtime.sync": { accountId: string; reason: "connect" | "notification" | "missed" | "resubscribed" };
    "realtime.subscription": { accountId: string; action: "ensure" | "reauthorize" | "recreate" };
    "realtime.watchdog": { slot: number };
  }
}

/** Where mail events go: the webhook outbox (`WebhookService.publish`, idempotent per event id). */
export interface MailEventPublisher {
  publish(event: {
    id: string;
    type: MailEventType;
    accountId: string;
    payload: Record<string, unknown>;
  }): Promise<unknown>;
}

/** Where a sent message came from: Mailroom's API (with the send's `tracking_id`) or elsewhere. */
export interface SentOrigin {
  origin: "unipile" | "external";
  trackingId?: string;
}

/** Whether a sent message went out through Mailroom's API (the send side records it: `SentMailLog`). */
export interface SentOriginLookup {
  originOf(accountId: string, graphId: string): Promise<SentOrigin>;
  /** Forgets sends old enough that their mail_sent has long been seen (the watchdog calls it). */
  prune?(now: number): Promise<void>;
}

export interface RealtimeAccounts {
  findById(id: string): Promise<AccountRow | undefined>;
  page(limit: number, after?: AccountPageCursor): Promise<AccountRow[]>;
}

export interface RealtimeOptions {
  /** Delta poll interval per account without a healthy subscription. */
  pollIntervalMs: number;
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
}

export interface RealtimeDeps {
  repo: RealtimeRepository;
  accounts: RealtimeAccounts;
  graph: GraphClient;
  folders: { tree(accountId: string, options?: { fresh?: boolean }): Promise<FolderTree> };
  /** The email API's read side: the email part of each payload is exactly its `get`. */
  email: { get(id: string, accountId: string | undefined): Promise<EmailObject> };
  publisher: MailEventPublisher;
  sentOrigin?: SentOriginLookup;
  queue: () => JobQueue;
  clock: Clock;
  log: Logger;
  options: RealtimeOptions;
}

export const NOTIFICATION_PATH = "/api/v1/realtime/graph/notifications";
export const LIFECYCLE_PATH = "/api/v1/realtime/graph/lifecycle";

/** Short, and extended while the sync runs: a process killed mid-sync blocks its account this long at most. */
const SYNC_LEASE_MS = 15_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const PAGE = 500;
/** Index rows of messages gone this long are dropped (a move is seen within a few sync rounds). */
const GONE_RETENTION_MS = 7 * 24 * HOUR;
const FETCH_CONCURRENCY = 4;

interface PendingEvent {
  type: MailEventType;
  graphId: string;
  folderId: string;
  move?: number;
}

export class RealtimeService {
  private readonly healthyPollMs: number;
  private readonly lifetimeMs: number;
  private readonly renewBeforeMs: number;
  private readonly watchdogMs: number;

  constructor(readonly d: RealtimeDeps) {
    const o = d.options;
    this.healthyPollMs = o.healthyPollIntervalMs ?? Math.max(o.pollIntervalMs, 10 * MINUTE);
    this.lifetimeMs = o.subscriptionLifetimeMs ?? 72 * HOUR;
    this.renewBeforeMs = o.renewBeforeMs ?? 24 * HOUR;
    this.watchdogMs = o.watchdogIntervalMs ?? MINUTE;
  }

  // ---------- starting ----------

  /** A newly connected (or reconnected) account: baseline sync now, subscription, poll schedule. */
  async start(accountId: string): Promise<void> {
    const now = this.d.clock.now();
    await this.d.repo.ensureAccount(accountId, now);
    const queue = this.d.queue();
    await queue.enqueue(
      "realtime.sync",
      { accountId, reason: "connect" },
      { idempotencyKey: `realtime.sync:${accountId}:connect:${now}` },
    );
    if (this.d.options.subscriptionsEnabled)
      await queue.enqueue(
        "realtime.subscription",
        { accountId, action: "ensure" },
        { idempotencyKey: `realtime.subscription:${accountId}:ensure:${now}` },
      );
    await this.schedulePoll(accountId);
  }

  /** At server start (every process may call it): the watchdog of the current slot reseeds every account. */
  async startAll(): Promise<void> {
    const slot = Math.floor(this.d.clock.now() / this.watchdogMs);
    await this.d
      .queue()
      .enqueue("realtime.watchdog", { slot }, { idempotencyKey: `realtime.watchdog:${slot}` });
  }

  /** Connect → start; deletion → forget the state (its tokens are gone, so Graph cleans up at expiry). */
  accountListener(): AccountEvents {
    return {
      accountConnected: async ({ account }) => {
        await this.start(account.id);
      },
      accountStatusChanged: async ({ account, message }) => {
        if (message === "DELETED") await this.d.repo.deleteAccount(account.id);
      },
    };
  }

  /**
   * The next poll of the account, in its own slot: each account polls at a fixed offset inside the
   * interval (a hash of its id), so 10,000 accounts spread evenly instead of polling at once. The
   * idempotency key makes every caller (restarts, watchdog, the previous poll) agree on one job.
   */
  async schedulePoll(accountId: string): Promise<void> {
    const row = await this.d.repo.findAccount(accountId);
    const now = this.d.clock.now();
    const interval = row && this.isHealthy(row, now) ? this.healthyPollMs : this.d.options.pollIntervalMs;
    const offset = jitterOffset(accountId, interval);
    const slot = Math.floor((now - offset) / interval) + 1;
    await this.d
      .queue()
      .enqueue(
        "realtime.poll",
        { accountId, slot },
        { idempotencyKey: `realtime.poll:${accountId}:${interval}:${slot}`, runAt: slot * interval + offset },
      );
  }

  // ---------- jobs ----------

  /** The realtime job kinds; handlers reach the service through `get` (built after the queue). */
  static jobs(get: () => RealtimeService): JobDefinition<JobKind>[] {
    const poll: JobDefinition<"realtime.poll"> = {
      kind: "realtime.poll",
      concurrency: 16,
      maxAttempts: 1,
      handler: async ({ accountId }) => {
        const service = get();
        const account = await service.d.accounts.findById(accountId);
        if (!account || account.status !== "OK") return;
        // The chain goes on whatever this round does; a failed round is retried by the next one.
        await service.schedulePoll(accountId);
        await service.sync(accountId);
      },
    };
    const sync: JobDefinition<"realtime.sync"> = {
      kind: "realtime.sync",
      concurrency: 8,
      maxAttempts: 10,
      handler: async ({ accountId }) => {
        // A notification must not be lost behind a running sync: wait for it, then sync again.
        if ((await get().sync(accountId)) === "busy") throw new RetryLaterError(1_000);
      },
    };
    const subscription: JobDefinition<"realtime.subscription"> = {
      kind: "realtime.subscription",
      concurrency: 4,
      maxAttempts: 3,
      handler: async ({ accountId, action }) => get().maintainSubscription(accountId, action),
    };
    const watchdog: JobDefinition<"realtime.watchdog"> = {
      kind: "realtime.watchdog",
      concurrency: 1,
      maxAttempts: 3,
      handler: async ({ slot }) => get().watchdog(slot),
    };
    return [poll, sync, subscription, watchdog] as unknown as JobDefinition<JobKind>[];
  }

  /**
   * Repairs whatever is stale: every connected account gets its poll scheduled and, with
   * subscriptions on, a subscription that exists and is renewed well before expiry; failed ones are
   * retried after their backoff. Then schedules the next watchdog.
   */
  async watchdog(slot: number): Promise<void> {
    const now = this.d.clock.now();
    let after: AccountPageCursor | undefined;
    for (;;) {
      const accounts = await this.d.accounts.page(PAGE, after);
      for (const account of accounts) {
        if (account.status !== "OK") continue;
        await this.d.repo.ensureAccount(account.id, now);
        await this.schedulePoll(account.id);
        if (!this.d.options.subscriptionsEnabled) continue;
        const row = await this.d.repo.findAccount(account.id);
        if (row && this.subscriptionNeedsWork(row, now))
          await this.d
            .queue()
            .enqueue(
              "realtime.subscription",
              { accountId: account.id, action: "ensure" },
              { idempotencyKey: `realtime.subscription:${account.id}:watchdog:${slot}` },
            );
      }
      const last = accounts.at(-1);
      if (accounts.length < PAGE || !last) break;
      after = { createdAt: last.created_at, id: last.id };
    }
    await this.d.repo.pruneGone(now - GONE_RETENTION_MS);
    await this.d.sentOrigin?.prune?.(now);
    const next = slot + 1;
    await this.d
      .queue()
      .enqueue(
        "realtime.watchdog",
        { slot: next },
        { idempotencyKey: `realtime.watchdog:${next}`, runAt: next * this.watchdogMs },
      );
  }

  // ---------- sync ----------

  /** One delta sync of the account; "busy" when another sync holds the account's lease. */
  async sync(accountId: string): Promise<"done" | "busy" | "skipped"> {
    const account = await this.d.accounts.findById(accountId);
    if (!account || account.status !== "OK") return "skipped";
    const started = this.d.clock.now();
    await this.d.repo.ensureAccount(accountId, started);
    const owner = randomUUID();
    if (!(await this.d.repo.tryTakeSyncLease(accountId, owner, started, SYNC_LEASE_MS))) return "busy";
    const heartbeat = setInterval(() => {
      this.d.repo
        .tryTakeSyncLease(accountId, owner, this.d.clock.now(), SYNC_LEASE_MS)
        .catch((error) => this.d.log.warn({ err: error, accountId }, "Could not extend the sync lease"));
    }, SYNC_LEASE_MS / 3);
    heartbeat.unref();
    try {
      await this.syncLocked(account, started);
      return "done";
    } finally {
      clearInterval(heartbeat);
      await this.d.repo.releaseSyncLease(accountId, owner);
    }
  }

  private async syncLocked(account: AccountRow, started: number): Promise<void> {
    const state = await this.d.repo.findAccount(account.id);
    if (!state) return;
    const baseline = state.baseline_at === null;
    const tree = await this.d.folders.tree(account.id);
    const links = await this.d.repo.deltaLinks(account.id);
    const roleOf = (folderId: string): FolderRole => tree.byId.get(folderId)?.role ?? "unknown";

    const rounds = await Promise.all(
      [...tree.byId.keys()].map(async (folderId) => {
        const link = links.get(folderId) ?? null;
        try {
          let round: DeltaRound = await readDeltaRound(this.d.graph, account.id, folderId, link);
          let fresh = link === null;
          if (round.expired) {
            // 410 SyncStateNotFound: the folder starts over; its snapshot is compared with the index.
            this.d.log.info(
              { accountId: account.id, folderId },
              "Delta sync state expired; resyncing folder",
            );
            round = await readDeltaRound(this.d.graph, account.id, folderId, null);
            fresh = true;
          }
          return round.expired ? undefined : { folderId, fresh, round };
        } catch (error) {
          // A folder deleted since the tree was read: nothing to sync there.
          if (error instanceof AppError && error.code === "resource_not_found") return undefined;
          throw error;
        }
      }),
    );

    const arrivals = new Map<string, { folderId: string; fresh: boolean; receivedAt: number }>();
    const removals: { graphId: string; folderId: string }[] = [];
    for (const entry of rounds) {
      if (!entry || entry.round.expired) continue;
      for (const item of entry.round.items) {
        if (item.removed) {
          removals.push({ graphId: item.id, folderId: entry.folderId });
          continue;
        }
        const seen = arrivals.get(item.id);
        // Seen in two folders within one sync (moved while the rounds ran): where it is now wins.
        if (seen && item.parentFolderId !== entry.folderId) continue;
        arrivals.set(item.id, {
          folderId: entry.folderId,
          fresh: entry.fresh,
          receivedAt: item.receivedDateTime ? Date.parse(item.receivedDateTime) : started,
        });
      }
    }

    const keyOf = new Map<string, string>();
    for (const id of [...arrivals.keys(), ...removals.map((r) => r.graphId)]) keyOf.set(id, messageKey(id));
    const index = await this.d.repo.messages(account.id, [...new Set(keyOf.values())]);
    const placements = new Map<string, MessagePlacement>();
    const events: PendingEvent[] = [];

    for (const [graphId, arrival] of arrivals) {
      const key = keyOf.get(graphId)!;
      const previous = index.get(key);
      const place = (moves: number) =>
        placements.set(key, { messageKey: key, folderId: arrival.folderId, moves, goneAt: null });
      if (baseline) {
        place(previous?.moves ?? 0);
        continue;
      }
      if (previous && previous.folder_id === arrival.folderId) {
        // An update (read flag, categories…) or a created+updated burst: no event.
        if (previous.gone_at !== null) place(previous.moves);
        continue;
      }
      if (previous) {
        const type = classify(roleOf(previous.folder_id), roleOf(arrival.folderId));
        const moves = previous.moves + 1;
        if (type)
          events.push({
            type,
            graphId,
            folderId: arrival.folderId,
            ...(type === "mail_moved" ? { move: moves } : {}),
          });
        place(moves);
        continue;
      }
      // Not seen before. In a folder read from scratch (new folder, expired sync state), only mail
      // received after the account's baseline is new; older mail is history.
      place(0);
      if (arrival.fresh && state.baseline_at !== null && arrival.receivedAt <= state.baseline_at) continue;
      const type = classify(undefined, roleOf(arrival.folderId));
      if (type) events.push({ type, graphId, folderId: arrival.folderId });
    }
    for (const removal of removals) {
      const key = keyOf.get(removal.graphId)!;
      if (placements.has(key)) continue;
      const previous = index.get(key);
      // Only where the index still has it: a removal seen after its arrival elsewhere changes nothing.
      if (previous && previous.folder_id === removal.folderId && previous.gone_at === null)
        placements.set(key, {
          messageKey: key,
          folderId: previous.folder_id,
          moves: previous.moves,
          goneAt: started,
        });
    }

    await this.publishAll(account, events);

    const deltaLinks = new Map<string, string | null>();
    for (const entry of rounds)
      if (entry && !entry.round.expired) deltaLinks.set(entry.folderId, entry.round.deltaLink);
    await this.d.repo.commitSync(account.id, {
      placements: [...placements.values()],
      deltaLinks,
      now: this.d.clock.now(),
      ...(baseline ? { baselineAt: started } : {}),
    });
    if (events.length > 0 || baseline)
      this.d.log.debug(
        { accountId: account.id, events: events.length, baseline, folders: deltaLinks.size },
        "Delta sync committed",
      );
  }

  private async publishAll(account: AccountRow, events: PendingEvent[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++]!;
        await this.publishOne(account, event);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, events.length) }, worker));
  }

  private async publishOne(account: AccountRow, event: PendingEvent): Promise<void> {
    let email: EmailObject;
    try {
      email = await this.d.email.get(mailroomId(account.id, event.graphId), account.id);
    } catch (error) {
      // Gone again before it could be announced (deleted, or a draft replaced on send).
      if (error instanceof AppError && error.code === "resource_not_found") return;
      throw error;
    }
    const origin: SentOrigin =
      event.type === "mail_sent" && this.d.sentOrigin
        ? await this.d.sentOrigin.originOf(account.id, event.graphId)
        : { origin: "external" };
    await this.d.publisher.publish({
      id: mailEventId({
        accountId: account.id,
        graphId: event.graphId,
        type: event.type,
        folderId: event.folderId,
        ...(event.move !== undefined ? { move: event.move } : {}),
      }),
      type: event.type,
      accountId: account.id,
      payload: mailPayload(email, origin),
    });
  }

  // ---------- subscriptions ----------

  private isHealthy(row: RealtimeAccountRow, now: number): boolean {
    return (
      row.subscription_status === "active" &&
      row.subscription_expires_at !== null &&
      row.subscription_expires_at > now
    );
  }

  private subscriptionNeedsWork(row: RealtimeAccountRow, now: number): boolean {
    if (row.subscription_status === "active")
      return row.subscription_expires_at === null || row.subscription_expires_at - now < this.renewBeforeMs;
    if (row.subscription_status === "failed")
      return row.subscription_retry_at === null || row.subscription_retry_at <= now;
    return row.subscription_status === "none";
  }

  /**
   * The subscription state machine: create when missing, renew when close to expiry, reauthorize on
   * request, recreate on 404 or `subscriptionRemoved`. Failures are recorded with a backoff for the
   * watchdog and never thrown into onboarding; polling covers the gap.
   */
  async maintainSubscription(
    accountId: string,
    action: "ensure" | "reauthorize" | "recreate",
  ): Promise<void> {
    if (!this.d.options.subscriptionsEnabled) return;
    const account = await this.d.accounts.findById(accountId);
    if (!account || account.status !== "OK") return;
    const now = this.d.clock.now();
    await this.d.repo.ensureAccount(accountId, now);
    const row = await this.d.repo.findAccount(accountId);
    if (!row) return;
    const id = row.subscription_id;
    try {
      if (id && action === "reauthorize") {
        await reauthorizeSubscription(this.d.graph, accountId, id).catch(async (error) => {
          if (isNotFound(error)) throw error;
          // Some tenants answer reauthorize with an error but accept a renewal (reference §4.5).
        });
        await this.renew(accountId, id);
        return;
      }
      if (id && action === "ensure" && row.subscription_status === "active") {
        if (row.subscription_expires_at !== null && row.subscription_expires_at - now >= this.renewBeforeMs)
          return;
        await this.renew(accountId, id);
        return;
      }
      await this.create(accountId, row);
    } catch (error) {
      if (isNotFound(error) && action !== "recreate") {
        try {
          await this.create(accountId, row);
          return;
        } catch (again) {
          await this.recordFailure(accountId, row, again);
          return;
        }
      }
      await this.recordFailure(accountId, row, error);
    }
  }

  private async renew(accountId: string, subscriptionId: string): Promise<void> {
    const expiresAt = this.d.clock.now() + this.lifetimeMs;
    const renewed = await renewSubscription(this.d.graph, accountId, subscriptionId, expiresAt);
    await this.d.repo.updateAccount(accountId, {
      subscription_status: "active",
      subscription_expires_at: Date.parse(renewed.expirationDateTime) || expiresAt,
      subscription_failures: 0,
      subscription_retry_at: null,
      subscription_error: null,
      updated_at: this.d.clock.now(),
    });
  }

  private async create(accountId: string, row: RealtimeAccountRow): Promise<void> {
    if (row.subscription_id)
      await deleteSubscription(this.d.graph, accountId, row.subscription_id).catch(() => {});
    const clientState = newClientState();
    const expiresAt = this.d.clock.now() + this.lifetimeMs;
    const base = this.d.options.publicUrl.replace(/\/+$/, "");
    const created = await createSubscription(this.d.graph, accountId, {
      notificationUrl: `${base}${NOTIFICATION_PATH}`,
      lifecycleNotificationUrl: `${base}${LIFECYCLE_PATH}`,
      clientState,
      expiresAt,
    });
    const now = this.d.clock.now();
    await this.d.repo.updateAccount(accountId, {
      subscription_id: created.id,
      client_state_hash: hashClientState(clientState),
      subscription_status: "active",
      subscription_expires_at: Date.parse(created.expirationDateTime) || expiresAt,
      subscription_failures: 0,
      subscription_retry_at: null,
      subscription_error: null,
      updated_at: now,
    });
    this.d.log.info({ accountId, subscriptionId: created.id }, "Graph subscription created");
    // Changes between the last sync and the subscription's start are caught up now.
    await this.d
      .queue()
      .enqueue(
        "realtime.sync",
        { accountId, reason: "resubscribed" },
        { idempotencyKey: `realtime.sync:${accountId}:subscribed:${created.id}` },
      );
    await this.schedulePoll(accountId);
  }

  private async recordFailure(accountId: string, row: RealtimeAccountRow, error: unknown): Promise<void> {
    const failures = row.subscription_failures + 1;
    const now = this.d.clock.now();
    const backoff = Math.min(HOUR, 30_000 * 2 ** Math.min(failures - 1, 10));
    await this.d.repo.updateAccount(accountId, {
      subscription_status: "failed",
      subscription_failures: failures,
      subscription_retry_at: now + backoff,
      subscription_error: (error as Error)?.message?.slice(0, 500) ?? String(error),
      updated_at: now,
    });
    this.d.log.warn(
      { accountId, err: error, failures, retryInMs: backoff },
      "Graph subscription failed; polling continues",
    );
    // Back on the normal poll interval while the subscription is down.
    await this.schedulePoll(accountId);
  }

  // ---------- incoming notifications (the HTTP route calls these; they only enqueue) ----------

  /** Change notifications (reference §4.3): verified per item, then one debounced sync per account. */
  async acceptNotifications(body: unknown): Promise<{ accepted: number; rejected: number }> {
    let accepted = 0;
    let rejected = 0;
    const now = this.d.clock.now();
    const woken = new Set<string>();
    for (const item of parseChangeNotifications(body)) {
      const row = await this.d.repo.findBySubscription(item.subscriptionId);
      if (!row || !clientStateMatches(item.clientState, row.client_state_hash)) {
        rejected++;
        continue;
      }
      accepted++;
      woken.add(row.account_id);
    }
    for (const accountId of woken) {
      await this.d.repo.updateAccount(accountId, { last_notification_at: now });
      // One sync per account per second, run just after that second ends: a burst of notifications
      // collapses into one delta sync that starts after every change it announced.
      const second = Math.floor(now / 1000);
      await this.d
        .queue()
        .enqueue(
          "realtime.sync",
          { accountId, reason: "notification" },
          { idempotencyKey: `realtime.sync:${accountId}:n:${second}`, runAt: (second + 1) * 1000 + 100 },
        );
    }
    if (rejected > 0)
      this.d.log.warn({ rejected }, "Graph notifications with an unknown subscription or clientState");
    return { accepted, rejected };
  }

  /** Lifecycle notifications (reference §4.5). */
  async acceptLifecycle(body: unknown): Promise<{ accepted: number; rejected: number }> {
    let accepted = 0;
    let rejected = 0;
    const now = this.d.clock.now();
    for (const item of parseLifecycleNotifications(body)) {
      const row = await this.d.repo.findBySubscription(item.subscriptionId);
      if (!row || !clientStateMatches(item.clientState, row.client_state_hash)) {
        rejected++;
        continue;
      }
      accepted++;
      const accountId = row.account_id;
      const key = `${accountId}:${item.subscriptionId}:${item.lifecycleEvent}:${now}`;
      const queue = this.d.queue();
      switch (item.lifecycleEvent) {
        case "reauthorizationRequired":
          await queue.enqueue(
            "realtime.subscription",
            { accountId, action: "reauthorize" },
            { idempotencyKey: `realtime.lifecycle:${key}` },
          );
          break;
        case "subscriptionRemoved":
          await this.d.repo.updateAccount(accountId, { subscription_status: "none", updated_at: now });
          await queue.enqueue(
            "realtime.subscription",
            { accountId, action: "recreate" },
            { idempotencyKey: `realtime.lifecycle:${key}` },
          );
          await queue.enqueue(
            "realtime.sync",
            { accountId, reason: "missed" },
            { idempotencyKey: `realtime.lifecycle-sync:${key}` },
          );
          break;
        case "missed":
          await queue.enqueue(
            "realtime.sync",
            { accountId, reason: "missed" },
            { idempotencyKey: `realtime.lifecycle:${key}` },
          );
          break;
        default:
          this.d.log.info({ accountId, event: item.lifecycleEvent }, "Unknown Graph lifecycle event ignored");
      }
    }
    return { accepted, rejected };
  }

  /** For health views and tests: the account's realtime state. */
  async status(accountId: string): Promise<RealtimeAccountRow | undefined> {
    return this.d.repo.findAccount(accountId);
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof AppError && error.code === "resource_not_found";
}

/** The account's fixed offset inside the poll interval (FNV-1a of its id). */
export function jitterOffset(accountId: string, intervalMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < accountId.length; i++) {
    hash ^= accountId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % Math.max(1, intervalMs);
}
