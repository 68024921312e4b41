// The per-mailbox limiter shared by every Mailroom process (scaled mode): the same contract as the
// in-process KeyedLimiter (4 slots per key, FIFO, weighted), with its state in Redis (ADR 0005).
// Holders and waiters keep a lease that this process renews while the request runs or waits, so a
// killed process frees its slots once its leases lapse (5 s by default). Waiters are woken by a
// Redis message when they are granted, and poll as a fallback, so a lost message only delays them.
// While Redis cannot be reached, calls fall back to an in-process limiter (4 per process), so API
// reads keep working; Graph's own 429 answers, which the Graph client retries, bound the excess.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { type ConcurrencyLimiter, clampWeight, type Release, withSlots } from "../lib/limits.ts";
import type { Logger } from "../lib/logger.ts";
import { KeyedLimiter, MAILBOX_CONCURRENCY } from "../providers/microsoft/limiter.ts";
import { HELD, LIMITER_KEY_SUFFIXES, LIMITER_LUA, UNKNOWN } from "./mailbox-limiter.lua.ts";
import { LuaScript } from "./script.ts";

const script = new LuaScript(LIMITER_LUA);

export interface RedisMailboxLimiterOptions {
  /** Runs the scripts (not the subscriber connection). */
  redis: Redis;
  /** Every key and the channel start with it (e.g. `mailroom:`). */
  prefix: string;
  log: Logger;
  maxConcurrent?: number;
  /** How long a holder or waiter keeps its place without renewing; renewed every third of it. */
  leaseMs?: number;
  /** A waiter checks its place at least this often, even when no message arrives. */
  pollMs?: number;
}

export class RedisMailboxLimiter implements ConcurrencyLimiter {
  readonly maxConcurrent: number;
  /** The channel grants are published on; the owner subscribes and passes messages to `onMessage`. */
  readonly channel: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly fallback: KeyedLimiter;
  /** Waiters of this process, by token: waking one makes it check its place now. */
  private readonly waiting = new Map<string, () => void>();
  private lastFallbackWarningAt = 0;

  constructor(private readonly options: RedisMailboxLimiterOptions) {
    this.maxConcurrent = options.maxConcurrent ?? MAILBOX_CONCURRENCY;
    this.leaseMs = options.leaseMs ?? 5_000;
    this.pollMs = Math.min(options.pollMs ?? 500, this.leaseMs / 3);
    this.channel = `${options.prefix}limiter:granted`;
    this.fallback = new KeyedLimiter(this.maxConcurrent);
  }

  run<T>(key: string, task: () => Promise<T>, weight = 1, signal?: AbortSignal): Promise<T> {
    return withSlots(this, key, task, weight, signal);
  }

  async acquire(key: string, weight = 1, signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    const w = clampWeight(weight, this.maxConcurrent);
    const token = randomUUID();
    try {
      if ((await this.call("acquire", key, token, w)) !== HELD)
        await this.waitForGrant(key, token, w, signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      this.warnFallback(error, key);
      this.call("release", key, token, w).catch(() => {});
      return this.fallback.acquire(key, w, signal);
    }
    return this.hold(key, token, w);
  }

  /** A message on `channel`: the tokens just granted, some of them maybe waiting in this process. */
  onMessage(message: string): void {
    let tokens: unknown;
    try {
      tokens = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(tokens)) return;
    for (const token of tokens) if (typeof token === "string") this.waiting.get(token)?.();
  }

  private async waitForGrant(
    key: string,
    token: string,
    weight: number,
    signal?: AbortSignal,
  ): Promise<void> {
    // A message that arrives while a check is on its way is kept for the next round, not lost.
    let early = false;
    this.waiting.set(token, () => {
      early = true;
    });
    try {
      for (;;) {
        if (signal?.aborted) break;
        if (!early) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(wake, this.pollMs);
            function wake() {
              clearTimeout(timer);
              signal?.removeEventListener("abort", wake);
              resolve();
            }
            this.waiting.set(token, wake);
            signal?.addEventListener("abort", wake, { once: true });
          });
        }
        early = false;
        this.waiting.set(token, () => {
          early = true;
        });
        if (signal?.aborted) break;
        const state = await this.call("touch", key, token, weight);
        if (state === HELD) break;
        // Our waiter lease lapsed (this process stalled longer than the lease): queue again, at the end.
        if (state === UNKNOWN && (await this.call("acquire", key, token, weight)) === HELD) break;
      }
    } finally {
      this.waiting.delete(token);
    }
    if (signal?.aborted) {
      // Leaves the queue, or gives back slots granted while the abort was on its way.
      await this.call("release", key, token, weight).catch((error) =>
        this.options.log.warn({ err: error, key }, "Could not leave the mailbox limiter's queue"),
      );
      throw signal.reason;
    }
  }

  /** Renews the holder's lease while the request runs; the release gives the slots back. */
  private hold(key: string, token: string, weight: number): Release {
    let lost = false;
    const renew = setInterval(() => {
      this.call("touch", key, token, weight).then(
        (state) => {
          if (state === HELD || lost) return;
          lost = true;
          clearInterval(renew);
          this.options.log.warn(
            { key, leaseMs: this.leaseMs },
            "A mailbox limiter lease lapsed before its request ended (the process stalled longer than the lease)",
          );
        },
        (error) => this.options.log.debug({ err: error, key }, "Could not renew a mailbox limiter lease"),
      );
    }, this.leaseMs / 3);
    renew.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      // When this fails, the lease lapses on its own within leaseMs.
      this.call("release", key, token, weight).catch((error) =>
        this.options.log.warn({ err: error, key }, "Could not release a mailbox limiter slot"),
      );
    };
  }

  private async call(op: "acquire" | "touch" | "release", key: string, token: string, weight: number) {
    const base = `${this.options.prefix}limiter:{${key}}:`;
    const answer = await script.run(
      this.options.redis,
      LIMITER_KEY_SUFFIXES.map((suffix) => base + suffix),
      [op, token, weight, this.maxConcurrent, this.leaseMs, this.channel, this.leaseMs * 4],
    );
    return Number(answer);
  }

  private warnFallback(error: unknown, key: string): void {
    const now = Date.now();
    if (now - this.lastFallbackWarningAt < 10_000) return;
    this.lastFallbackWarningAt = now;
    this.options.log.warn(
      { err: error, key },
      "Redis is unreachable: the mailbox limiter counts per process until it is back",
    );
  }
}
