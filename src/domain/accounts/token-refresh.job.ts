// Proactive token refresh (field lessons FL-3): a sweep every 15 minutes finds connected accounts
// whose tokens were not refreshed for a day, or whose access token is about to expire, and enqueues
// one `accounts.refresh` job per account. Refresh tokens then never sit idle near Microsoft's 90-day
// inactivity limit (MS reference §1.6), and access tokens are warm when a request needs them.
import type { JobDefinition, JobHandlerRegistry, JobQueue } from "../../jobs/queue.ts";
import { defineJob, RetryLaterError } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { AccountRepository } from "../../storage/repositories/account.repository.ts";
import type { TokenManager } from "./token-manager.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "token-refresh.sweep": Record<string, never>;
    "accounts.refresh": { accountId: string };
  }
}

export const SWEEP_INTERVAL_MS = 15 * 60_000;
/** The sweep's recurring job. */
export const SWEEP_SCHEDULE = "token-refresh.sweep";
/** Refresh tokens not refreshed for this long (Nango: > 1 day; Microsoft's limit is 90 days idle). */
export const STALE_AFTER_MS = 24 * 3600_000;
/** Access tokens expiring within this are refreshed ahead of use. */
export const EXPIRING_WITHIN_MS = 10 * 60_000;
const REFRESH_KEY_SLOT_MS = 3600_000;
const PAGE_SIZE = 500;

export interface TokenRefreshJobsDeps {
  tokens: TokenManager;
  accounts: AccountRepository;
  clock: Clock;
  log: Logger;
  queue: JobQueue;
}

export class TokenRefreshJobs {
  constructor(private readonly d: TokenRefreshJobsDeps) {}

  /**
   * Declares the sweep as a recurring job, one run per 15-minute slot across processes, so every
   * process may call it at start-up. The first declaration runs the current slot at once.
   */
  async scheduleSweep(): Promise<void> {
    await this.d.queue.schedule({
      name: SWEEP_SCHEDULE,
      kind: "token-refresh.sweep",
      payload: {},
      everyMs: SWEEP_INTERVAL_MS,
    });
  }

  /** Enqueues one refresh per due account; returns the ids found due. */
  async sweep(): Promise<string[]> {
    const now = this.d.clock.now();
    const hour = Math.floor(now / REFRESH_KEY_SLOT_MS);
    const due: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const ids = await this.d.accounts.findDueForRefresh({
        staleBefore: now - STALE_AFTER_MS,
        expiringBefore: now + EXPIRING_WITHIN_MS,
        limit: PAGE_SIZE,
        afterId,
      });
      for (const accountId of ids) {
        // One refresh per account per hour, whichever sweep or process finds it first.
        await this.d.queue.enqueue(
          "accounts.refresh",
          { accountId },
          { idempotencyKey: `token-refresh:${accountId}:${hour}` },
        );
      }
      due.push(...ids);
      if (ids.length < PAGE_SIZE) break;
      afterId = ids[ids.length - 1];
    }
    return due;
  }

  sweepJob(): JobDefinition<"token-refresh.sweep"> {
    return defineJob({
      kind: "token-refresh.sweep",
      maxAttempts: 3,
      handler: async (_payload, ctx) => {
        const due = await this.sweep();
        ctx.log.info({ accounts: due.length }, "Token refresh sweep enqueued refreshes");
      },
    });
  }

  refreshJob(): JobDefinition<"accounts.refresh"> {
    return defineJob({
      kind: "accounts.refresh",
      concurrency: 4,
      maxAttempts: 6,
      backoff: { baseMs: 5_000, maxMs: 10 * 60_000 },
      handler: async ({ accountId }, ctx) => {
        try {
          const result = await this.d.tokens.refreshIfDue(accountId, {
            maxAgeMs: STALE_AFTER_MS,
            minValidMs: EXPIRING_WITHIN_MS,
          });
          ctx.log.debug({ accountId, result }, "Proactive token refresh");
        } catch (error) {
          // Microsoft unreachable, or the app's credentials rejected: try again after the cooldown.
          if (error instanceof AppError && error.code === "service_unavailable") {
            throw new RetryLaterError((error.retryAfterSeconds ?? 60) * 1000, error.message, {
              cause: error,
            });
          }
          throw error;
        }
      },
    });
  }
}

/** The token refresh job kinds: the sweep (one per 15-minute slot) and the per-account refresh. */
export function registerTokenRefreshJobs(registry: JobHandlerRegistry, refresh: TokenRefreshJobs): void {
  registry.register(refresh.sweepJob());
  registry.register(refresh.refreshJob());
}
