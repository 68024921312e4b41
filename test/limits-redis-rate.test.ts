// The sign-in rate limit shared through Redis, and what the shared limits do when Redis is gone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { AdminService, SIGN_IN_LIMIT } from "../src/domain/admins/admin.service.ts";
import { systemClock } from "../src/lib/clock.ts";
import { AppError } from "../src/lib/errors.ts";
import { SlidingWindowLimiter } from "../src/lib/limits.ts";
import { createLogger } from "../src/lib/logger.ts";
import { createRedisLimits, type RedisLimits } from "../src/redis/limits.ts";
import { RedisMailboxLimiter } from "../src/redis/mailbox-limiter.ts";
import { RedisRateLimiter } from "../src/redis/rate-limiter.ts";
import { AdminRepository } from "../src/storage/repositories/admin.repository.ts";
import { createTestStorage } from "./support/databases.ts";
import { deleteKeysUnder, keysUnder, randomPrefix, TEST_REDIS_URL } from "./support/redis-keys.ts";

const log = createLogger({ level: "silent" });

describe("shared limits on Redis: the sign-in rate limit across processes", () => {
  const prefix = randomPrefix("rate");
  let one: RedisLimits;
  let two: RedisLimits;
  let redis: Redis;

  before(async () => {
    one = await createRedisLimits({ redis: TEST_REDIS_URL, prefix, log });
    two = await createRedisLimits({ redis: TEST_REDIS_URL, prefix, log });
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    await one?.close();
    await two?.close();
    redis?.disconnect();
    await deleteKeysUnder(prefix);
  });

  const policy = { limit: 3, windowMs: 1_000 };
  const cases: [times: number[], now: number][] = [
    [[], 5_000],
    [[4_100, 4_200], 5_000],
    [[4_100, 4_200, 4_300], 5_000],
    [[4_100, 4_200, 4_300, 4_900], 5_000],
    [[4_000, 4_200, 4_300], 5_000],
    [[3_000, 3_500, 3_900, 4_950], 5_000],
  ];
  let n = 0;
  for (const [times, now] of cases)
    it(`events at [${times}] counted by two processes give the in-process answer at ${now}`, async () => {
      const name = `case-${++n}`;
      const shared = [one.rateLimiters(name, policy), two.rateLimiters(name, policy)];
      const local = new SlidingWindowLimiter(policy);
      for (const [i, t] of times.entries()) {
        await shared[i % 2]!.hit("someone@example.com", t);
        await local.hit("someone@example.com", t);
      }
      const expected = await local.retryAfterMs("someone@example.com", now);
      assert.equal(await shared[0]!.retryAfterMs("someone@example.com", now), expected);
      assert.equal(await shared[1]!.retryAfterMs("someone@example.com", now), expected);
    });

  it("a reset in one process clears the key for every process, and no other key", async () => {
    const [a, b] = [one.rateLimiters("reset", policy), two.rateLimiters("reset", policy)];
    for (const t of [1, 2, 3]) {
      await a.hit("x", t);
      await a.hit("y", t);
    }
    assert.ok((await b.retryAfterMs("x", 10)) > 0);
    await b.reset("x");
    assert.equal(await a.retryAfterMs("x", 10), 0);
    assert.equal(await a.retryAfterMs("y", 10), 991);
  });

  it("stores no email or client address in Redis, and at most `limit` events per key", async () => {
    const limiter = one.rateLimiters("privacy", policy);
    for (let t = 1; t <= 10; t++) await limiter.hit("admin@example.com", t);
    const keys = await keysUnder(redis, `${prefix}ratelimit:privacy:`);
    assert.equal(keys.length, 1);
    assert.ok(!keys[0]!.includes("example"), keys[0]);
    assert.equal(await redis.zcard(keys[0]!), policy.limit);
    const members = await redis.zrange(keys[0]!, 0, -1);
    assert.ok(members.every((m) => !m.includes("example")));
  });

  it("failed dashboard sign-ins through two processes add up to one limit per email", async () => {
    const { storage, dispose } = await createTestStorage("sqlite");
    try {
      const repo = new AdminRepository(storage.db);
      const url = "http://localhost";
      const servers = [
        new AdminService(repo, systemClock, url, one.rateLimiters),
        new AdminService(repo, systemClock, url, two.rateLimiters),
      ];
      const attempt = (i: number) =>
        servers[i % 2]!.signIn(
          { email: `nobody-${prefix}@example.com`, password: "wrong password" },
          `10.0.0.${i}`,
        );
      for (let i = 0; i < SIGN_IN_LIMIT.perEmail; i++)
        await assert.rejects(attempt(i), (e) => e instanceof AppError && e.code === "invalid_credentials");
      for (const i of [0, 1])
        await assert.rejects(attempt(i), (e) => e instanceof AppError && e.code === "too_many_requests");
    } finally {
      await dispose();
    }
  });
});

describe("shared limits while Redis is unreachable", () => {
  const unreachable = () => {
    const redis = new Redis("redis://127.0.0.1:1", {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    redis.on("error", () => {});
    return redis;
  };

  it("createRedisLimits refuses to start with a message that says Redis could not be reached", async () => {
    await assert.rejects(
      createRedisLimits({ redis: "redis://127.0.0.1:1", prefix: randomPrefix("down"), log }),
      /Could not connect to Redis for the shared limits/,
    );
  });

  it("the mailbox limiter falls back to counting in the process: requests still run, 4 at a time", async () => {
    const redis = unreachable();
    try {
      const limiter = new RedisMailboxLimiter({ redis, prefix: randomPrefix("down"), log });
      let running = 0;
      let peak = 0;
      await Promise.all(
        Array.from({ length: 12 }, () =>
          limiter.run("mailbox", async () => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, 5));
            running--;
          }),
        ),
      );
      assert.equal(peak, 4);
    } finally {
      redis.disconnect();
    }
  });

  it("the rate limiter falls back to counting in the process instead of refusing every sign-in", async () => {
    const redis = unreachable();
    try {
      const limiter = new RedisRateLimiter(redis, randomPrefix("down"), { limit: 2, windowMs: 1_000 }, log);
      assert.equal(await limiter.retryAfterMs("k", 100), 0);
      await limiter.hit("k", 100);
      await limiter.hit("k", 200);
      assert.equal(await limiter.retryAfterMs("k", 300), 800);
      await limiter.reset("k");
      assert.equal(await limiter.retryAfterMs("k", 300), 0);
    } finally {
      redis.disconnect();
    }
  });
});
