// Redis connections of the BullMQ runner: opened from a URL or a caller's factory, and a clear error
// when Redis cannot be reached, instead of a promise that waits for a reconnection forever.
import { Redis } from "ioredis";

/** A Redis URL, or a factory returning a new ioredis client per call (the runner closes them). */
export type RedisConnection = string | (() => Redis);

export class RedisUnavailableError extends Error {
  readonly code = "redis_unavailable";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

/**
 * `commands`: enqueues, idempotency keys, locks, schedules; a command fails after one reconnection
 * attempt rather than waiting for Redis. `worker`: BullMQ workers, whose blocking commands must wait
 * through reconnections (BullMQ requires `maxRetriesPerRequest: null`).
 */
export function openRedis(connection: RedisConnection, role: "commands" | "worker"): Redis {
  if (typeof connection === "function") return connection();
  return new Redis(connection, {
    maxRetriesPerRequest: role === "worker" ? null : 1,
    connectTimeout: 5_000,
    // Reconnect forever, at most every 2 s: workers resume by themselves when Redis is back.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
}

/** The URL without its password, for logs and errors. */
export function redisLocation(connection: RedisConnection): string {
  if (typeof connection === "function") return "redis (client factory)";
  try {
    const url = new URL(connection);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "redis (unparsable URL)";
  }
}

/** Resolves true once the client is ready, false after `timeoutMs`. */
export function waitForReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  if (client.status === "wait") client.connect().catch(() => undefined);
  return new Promise((resolve) => {
    const onReady = () => finish(true);
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(ready: boolean): void {
      clearTimeout(timer);
      client.off("ready", onReady);
      resolve(ready);
    }
    client.on("ready", onReady);
  });
}

/** Rejects with `what` timed out after `timeoutMs`, so a probe never hangs on a dead connection. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisUnavailableError(`${what} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface ConnectionLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * The runner's connections to one Redis: opens them, logs an outage once (not once per client and
 * retry), and turns "not connected" into a RedisUnavailableError naming the consequence.
 */
export class RedisConnections {
  /** Enqueues, idempotency keys, locks, schedules, stats. */
  readonly client: Redis;
  readonly location: string;
  private down = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly log: ConnectionLog,
    private readonly connectTimeoutMs: number,
  ) {
    this.location = redisLocation(connection);
    this.client = this.open("commands");
  }

  open(role: "commands" | "worker"): Redis {
    const client = openRedis(this.connection, role);
    client.on("error", (error: Error) => this.onError(error));
    client.on("ready", () => {
      if (!this.down) return;
      this.down = false;
      this.log.info({ redis: this.location }, "Redis is reachable again");
    });
    return client;
  }

  onError(error: Error): void {
    if (this.down) return;
    this.down = true;
    this.log.warn(
      { redis: this.location, error: error.message },
      "Redis connection lost; reconnecting (jobs wait, enqueues outside a transaction fail)",
    );
  }

  /** Waits up to `connectTimeoutMs` for Redis, or rejects with a RedisUnavailableError. */
  async connected(consequence: string): Promise<void> {
    if (await waitForReady(this.client, this.connectTimeoutMs)) return;
    throw this.unavailable(consequence);
  }

  /** `cause` as it is when Redis is up (a real command error), else a RedisUnavailableError. */
  unavailable(consequence: string, cause?: unknown): Error {
    if (cause instanceof RedisUnavailableError || (cause instanceof Error && this.client.status === "ready"))
      return cause;
    const reason =
      cause === undefined
        ? `not connected after ${this.connectTimeoutMs} ms`
        : cause instanceof Error
          ? cause.message
          : String(cause);
    return new RedisUnavailableError(
      `Redis at ${this.location} is unreachable (${reason}); ${consequence}`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Whether Redis answers a PING within a second. Never throws. */
  async ping(): Promise<boolean> {
    if (this.client.status !== "ready") return false;
    try {
      return (await withTimeout(this.client.ping(), 1_000, "Redis PING")) === "PONG";
    } catch {
      return false;
    }
  }

  close(): void {
    this.client.disconnect();
  }
}
