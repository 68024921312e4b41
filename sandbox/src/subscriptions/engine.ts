// Change-notification engine: stores subscriptions, runs the validation handshake, turns
// "mail-change" events into Graph's notification payloads (batched per notification URL),
// retries deliveries that are not answered 2xx in time, and sends lifecycle notifications.
// Reference: microsoft-identity-and-graph.md §4.
import { randomUUID } from "node:crypto";
import type { MailChangeEvent, SandboxState, SubscriptionTimings } from "../state.ts";
import { graphDateTime } from "./graph-response.ts";
import {
  type DeliveryAttempt,
  isLifecycleEvent,
  type LifecycleEvent,
  type StoredSubscription,
  SUBSCRIPTION_DEFAULTS,
  type ValidationResult,
} from "./model.ts";
import { notificationPayload } from "./notification-payload.ts";
import { errorText, isTimeout, postWithTimeout } from "./post.ts";

export * from "./model.ts";

interface NotificationItem {
  subscriptionId: string;
  payload: Record<string, unknown>;
}

const MAX_ATTEMPT_LOG = 500;
const MAX_BATCH = 100;

export class SubscriptionEngine {
  readonly subscriptions = new Map<string, StoredSubscription>();
  readonly attempts: DeliveryAttempt[] = [];
  readonly timings: Required<SubscriptionTimings>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Map<string, { items: NotificationItem[]; timer: NodeJS.Timeout }>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly state: SandboxState) {
    this.timings = { ...SUBSCRIPTION_DEFAULTS, ...definedOnly(state.options.subscriptions ?? {}) };
    state.events.on("mail-change", this.onMailChange);
    state.events.on("scenario", this.onScenario);
    state.events.once("close", () => this.close());
    this.sweeper = setInterval(() => this.sweep(), this.timings.sweepIntervalMs);
    this.sweeper.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const timer of this.timers) clearTimeout(timer);
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    this.state.events.off("mail-change", this.onMailChange);
    this.state.events.off("scenario", this.onScenario);
  }

  /** Active (unexpired) subscription by id; expired ones are dropped on sight. */
  get(id: string): StoredSubscription | undefined {
    const subscription = this.subscriptions.get(id);
    if (subscription && subscription.expiresAt <= this.state.now()) {
      this.subscriptions.delete(id);
      return undefined;
    }
    return subscription;
  }

  active(): StoredSubscription[] {
    return [...this.subscriptions.keys()].map((id) => this.get(id)).filter((s) => s !== undefined);
  }

  countForMailbox(userId: string): number {
    return this.active().filter((subscription) => subscription.userId === userId).length;
  }

  // ---- validation handshake (reference §4.2) -------------------------------------------------

  async validate(url: string, subscriptionId: string): Promise<ValidationResult> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = `${url}${url.includes("?") ? "&" : "?"}validationToken=${encodeURIComponent(token)}`;
    const started = performance.now();
    const base = {
      kind: "validation" as const,
      url,
      subscriptionIds: [subscriptionId],
      attempt: 1,
      body: null,
    };
    try {
      const response = await postWithTimeout(
        target,
        "",
        "text/plain; charset=utf-8",
        this.timings.validationTimeoutMs,
      );
      const echoed = response.body;
      const isText = (response.contentType ?? "").toLowerCase().startsWith("text/plain");
      const ok = response.status === 200 && isText && echoed === token;
      this.record({
        ...base,
        status: response.status,
        ok,
        error: ok
          ? null
          : `expected 200 text/plain echoing the token, got ${response.status} ${response.contentType ?? "-"}`,
        durationMs: performance.now() - started,
        outcome: ok ? "delivered" : "failed",
      });
      return ok ? { ok: true } : { ok: false, reason: "failed" };
    } catch (error) {
      const timedOut = isTimeout(error);
      this.record({
        ...base,
        status: null,
        ok: false,
        error: timedOut ? "timed out" : errorText(error),
        durationMs: performance.now() - started,
        outcome: "failed",
      });
      return { ok: false, reason: timedOut ? "timeout" : "failed" };
    }
  }

  // ---- change notifications (reference §4.3, §4.4) -------------------------------------------

  private readonly onMailChange = (event: MailChangeEvent): void => {
    if (this.closed) return;
    const user = this.state.users.get(event.userId);
    if (!user) return;
    for (const subscription of this.active()) {
      if (subscription.userId !== event.userId || !subscription.changeTypes.has(event.changeType)) continue;
      if (!this.folderMatches(subscription, event)) continue;
      this.enqueue(subscription.notificationUrl, {
        subscriptionId: subscription.id,
        payload: notificationPayload(subscription, user, event),
      });
    }
  };

  private folderMatches(subscription: StoredSubscription, event: MailChangeEvent): boolean {
    if (subscription.folderRef === null) return true;
    const ref = subscription.folderRef;
    if (ref.toLowerCase() === event.folderId.toLowerCase()) return true;
    const resolved = this.state.resolveMailFolderId?.(subscription.userId, ref);
    return resolved !== undefined && resolved === event.folderId;
  }

  /** Several notifications for one URL (even from different subscriptions) share one POST. */
  private enqueue(url: string, item: NotificationItem): void {
    const batch = this.pending.get(url);
    if (batch) {
      batch.items.push(item);
      if (batch.items.length >= MAX_BATCH) this.flush(url);
      return;
    }
    const timer = setTimeout(() => this.flush(url), this.timings.batchWindowMs);
    timer.unref();
    this.pending.set(url, { items: [item], timer });
  }

  private flush(url: string): void {
    const batch = this.pending.get(url);
    if (!batch) return;
    clearTimeout(batch.timer);
    this.pending.delete(url);
    void this.deliver("notification", url, { value: batch.items.map((item) => item.payload) }, batch.items);
  }

  /** POSTs JSON; without a 2xx within the timeout, retries with exponential backoff for a bounded time. */
  private async deliver(
    kind: "notification" | "lifecycle",
    url: string,
    body: { value: Record<string, unknown>[] },
    items: NotificationItem[],
    attempt = 1,
    firstAttemptAt = performance.now(),
  ): Promise<void> {
    if (this.closed) return;
    const started = performance.now();
    const subscriptionIds = [...new Set(items.map((item) => item.subscriptionId))];
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await postWithTimeout(
        url,
        JSON.stringify(body),
        "application/json; charset=utf-8",
        this.timings.notificationTimeoutMs,
      );
      status = response.status;
      if (status < 200 || status > 299) error = `receiver answered ${status}`;
    } catch (caught) {
      error = isTimeout(caught)
        ? `no response within ${this.timings.notificationTimeoutMs} ms`
        : errorText(caught);
    }
    const ok = error === null;
    const delay = this.timings.retryBaseMs * 2 ** (attempt - 1);
    const canRetry =
      !ok && !this.closed && performance.now() - firstAttemptAt + delay <= this.timings.retryWindowMs;
    this.record({
      kind,
      url,
      subscriptionIds,
      attempt,
      status,
      ok,
      error,
      durationMs: performance.now() - started,
      outcome: ok ? "delivered" : canRetry ? "retry-scheduled" : "dropped",
      body,
    });
    if (!canRetry) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.deliver(kind, url, body, items, attempt + 1, firstAttemptAt);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  // ---- lifecycle notifications (reference §4.5) ----------------------------------------------

  sendLifecycle(subscription: StoredSubscription, event: LifecycleEvent): boolean {
    if (!subscription.lifecycleNotificationUrl) return false;
    const payload: Record<string, unknown> = {
      subscriptionId: subscription.id,
      subscriptionExpirationDateTime: graphDateTime(subscription.expiresAt),
      tenantId: subscription.tenantId,
      clientState: subscription.clientState,
      lifecycleEvent: event,
    };
    void this.deliver("lifecycle", subscription.lifecycleNotificationUrl, { value: [payload] }, [
      { subscriptionId: subscription.id, payload },
    ]);
    return true;
  }

  /** subscriptionRemoved: tell the app, then the subscription is gone (renew → 404). */
  remove(subscription: StoredSubscription, notify: boolean): void {
    if (notify) this.sendLifecycle(subscription, "subscriptionRemoved");
    this.subscriptions.delete(subscription.id);
  }

  /**
   * The admin scenario `subscription_lifecycle`: sends `event` for every active subscription
   * matching the filter (all of them without one). Returns the matched subscriptions; those
   * without a lifecycleNotificationUrl are matched but nothing is sent (Microsoft sends nothing).
   */
  fireLifecycle(
    event: LifecycleEvent,
    filter: { subscriptionId?: string; userId?: string; clientId?: string } = {},
  ): StoredSubscription[] {
    if (this.closed) return [];
    const matched = this.active().filter(
      (subscription) =>
        (filter.subscriptionId === undefined || subscription.id === filter.subscriptionId) &&
        (filter.userId === undefined || subscription.userId === filter.userId) &&
        (filter.clientId === undefined || subscription.clientId === filter.clientId),
    );
    for (const subscription of matched) {
      if (event === "subscriptionRemoved") this.remove(subscription, true);
      else {
        this.sendLifecycle(subscription, event);
        if (event === "reauthorizationRequired") subscription.reauthorizationSent = true;
      }
    }
    return matched;
  }

  /** The same scenario emitted directly on `state.events` (tests without the admin API). */
  private readonly onScenario = (body: unknown): void => {
    if (this.closed || typeof body !== "object" || body === null) return;
    const scenario = body as { action?: unknown; subscription_id?: unknown; user?: unknown; event?: unknown };
    if (scenario.action !== "subscription_lifecycle") return;
    const event = scenario.event;
    if (!isLifecycleEvent(event)) return;
    const user =
      typeof scenario.user === "string"
        ? (this.state.users.get(scenario.user) ?? this.state.userByEmail(scenario.user))
        : undefined;
    if (typeof scenario.user === "string" && !user) return;
    this.fireLifecycle(event, {
      ...(typeof scenario.subscription_id === "string" ? { subscriptionId: scenario.subscription_id } : {}),
      ...(user ? { userId: user.id } : {}),
    });
  };

  /**
   * Drops expired subscriptions and sends reauthorizationRequired when a subscription nears expiry
   * or the user's grant to the app was revoked (reference §4.5), once per occurrence.
   */
  sweep(): void {
    if (this.closed) return;
    const now = this.state.now();
    for (const subscription of [...this.subscriptions.values()]) {
      if (subscription.expiresAt <= now) {
        this.subscriptions.delete(subscription.id);
        continue;
      }
      if (subscription.reauthorizationSent || !subscription.lifecycleNotificationUrl) continue;
      const nearExpiry = subscription.expiresAt - now <= this.timings.reauthorizationLeadMs;
      if (nearExpiry || this.grantRevoked(subscription)) {
        subscription.reauthorizationSent = true;
        this.sendLifecycle(subscription, "reauthorizationRequired");
      }
    }
  }

  private grantRevoked(subscription: StoredSubscription): boolean {
    const consent = this.state.consents.get(`${subscription.userId}|${subscription.clientId}`);
    if (consent?.revoked) return true;
    let tokens = 0;
    let revoked = 0;
    for (const token of this.state.accessTokens.values()) {
      if (token.userId !== subscription.userId || token.clientId !== subscription.clientId) continue;
      tokens++;
      if (token.revoked) revoked++;
    }
    return tokens > 0 && tokens === revoked;
  }

  private record(attempt: Omit<DeliveryAttempt, "id" | "at">): void {
    this.attempts.push({ id: randomUUID(), at: new Date(this.state.now()).toISOString(), ...attempt });
    if (this.attempts.length > MAX_ATTEMPT_LOG)
      this.attempts.splice(0, this.attempts.length - MAX_ATTEMPT_LOG);
  }
}

function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as Partial<T>;
}
