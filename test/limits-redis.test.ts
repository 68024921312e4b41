// The per-mailbox limiter on the real Redis (127.0.0.1:6379), as scaled mode runs it: the limiter
// contract on one instance, then several instances standing for separate processes (each with its own
// connections), a process that stops renewing, and a child process killed with SIGKILL while it holds
// every slot of a mailbox.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createLogger } from "../src/lib/logger.ts";
import { createRedisLimits, type RedisLimits } from "../src/redis/limits.ts";
import { RedisMailboxLimiter } from "../src/redis/mailbox-limiter.ts";
import { limiterContract } from "./support/limiter-contract.ts";
import { deleteKeysUnder, keysUnder, randomPrefix, TEST_REDIS_URL } from "./support/redis-keys.ts";
import { until } from "./support/until.ts";

const ROOT = resolve(import.meta.dirname, "..");
const log = createLogger({ level: "silent" });

function probeOf(redis: Redis, prefix: string) {
  const key = (mailbox: string, part: string) => `${prefix}limiter:{${mailbox}}:${part}`;
  return {
    queued: (mailbox: string) => redis.zcard(key(mailbox, "queue")),
    async inUse(mailbox: string): Promise<number> {
      const holders = await redis.zrange(key(mailbox, "holders"), 0, -1);
      if (holders.length === 0) return 0;
      const weights = await redis.hmget(key(mailbox, "weights"), ...holders);
      return weights.reduce((sum, w) => sum + Number(w ?? 1), 0);
    },
  };
}

let seq = 0;
const freshKey = () => `mbx-${process.pid}-${++seq}`;

describe("shared limits on Redis: the per-mailbox limiter in one process", () => {
  const prefix = randomPrefix("limiter-one");
  let limits: RedisLimits;
  let redis: Redis;

  before(async () => {
    limits = await createRedisLimits({ redis: TEST_REDIS_URL, prefix, log, mailbox: { pollMs: 200 } });
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    await limits?.close();
    redis?.disconnect();
    await deleteKeysUnder(prefix);
  });

  limiterContract(() => ({ limiter: limits.mailboxLimiter, ...probeOf(redis, prefix) }));

  it("leaves no key behind once a mailbox is idle", async () => {
    const key = freshKey();
    await Promise.all(Array.from({ length: 10 }, () => limits.mailboxLimiter.run(key, async () => {})));
    await until(
      "the mailbox's keys are gone",
      async () => (await keysUnder(redis, `${prefix}limiter:{${key}}`)).length === 0,
    );
  });
});

describe("shared limits on Redis: several processes on one mailbox", () => {
  const prefix = randomPrefix("limiter-many");
  const started: RedisLimits[] = [];
  let processes: RedisLimits[];
  let redis: Redis;
  let probe: ReturnType<typeof probeOf>;

  const start = async (mailbox: { leaseMs?: number; pollMs?: number } = {}) => {
    const limits = await createRedisLimits({ redis: TEST_REDIS_URL, prefix, log, mailbox });
    started.push(limits);
    return limits;
  };

  before(async () => {
    processes = [await start(), await start(), await start()];
    redis = new Redis(TEST_REDIS_URL);
    probe = probeOf(redis, prefix);
  });
  after(async () => {
    for (const limits of started) await limits.close();
    redis?.disconnect();
    await deleteKeysUnder(prefix);
  });

  it("60 requests for one mailbox spread over 3 processes never run more than 4 at once, and do run 4", async () => {
    const key = freshKey();
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        processes[i % 3]!.mailboxLimiter.run(
          key,
          async () => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, 2 + (i % 5) * 3));
            running--;
          },
          i % 7 === 0 ? 2 : 1,
        ),
      ),
    );
    assert.equal(peak, 4);
    assert.equal(await probe.inUse(key), 0);
  });

  it("serves waiters from different processes in their order of arrival", async () => {
    const key = freshKey();
    const holders = await Promise.all([0, 1, 2, 0].map((p) => processes[p]!.mailboxLimiter.acquire(key)));
    const granted: string[] = [];
    const pending: Promise<() => void>[] = [];
    for (const [name, p] of [
      ["a", 1],
      ["b", 2],
      ["c", 0],
      ["d", 1],
    ] as const) {
      const limiter = processes[p]!.mailboxLimiter;
      pending.push(
        limiter.acquire(key).then((release) => {
          granted.push(name);
          return release;
        }),
      );
      await until(`${name} queued`, async () => (await probe.queued(key)) === pending.length);
    }
    for (const [i, holder] of holders.entries()) {
      holder();
      await until(`${i + 1} waiter(s) granted`, () => granted.length === i + 1);
    }
    assert.deepEqual(granted, ["a", "b", "c", "d"]);
    for (const release of await Promise.all(pending)) release();
  });

  it("wakes a waiter in another process by message, long before its polling fallback", async () => {
    const slowPolling = { leaseMs: 60_000, pollMs: 20_000 };
    const [a, b] = [await start(slowPolling), await start(slowPolling)];
    const key = freshKey();
    const all = await a.mailboxLimiter.acquire(key, 4);
    const waiting = b.mailboxLimiter.acquire(key);
    await until("the waiter is queued", async () => (await probe.queued(key)) === 1);
    const releasedAt = Date.now();
    all();
    (await waiting)();
    assert.ok(Date.now() - releasedAt < 5_000, `woken after ${Date.now() - releasedAt} ms`);
  });

  it("a waiter that misses the message still finds its grant by polling", async () => {
    // A limiter nobody subscribed for: every message to it is lost.
    const connection = new Redis(TEST_REDIS_URL);
    const deaf = new RedisMailboxLimiter({ redis: connection, prefix, log, pollMs: 100 });
    try {
      const key = freshKey();
      const all = await processes[0]!.mailboxLimiter.acquire(key, 4);
      const waiting = deaf.acquire(key);
      await until("the waiter is queued", async () => (await probe.queued(key)) === 1);
      all();
      (await waiting)();
    } finally {
      connection.disconnect();
    }
  });

  it("slots of a process that stops renewing (killed) are free again once its lease lapses", async () => {
    const leaseMs = 900;
    const dying = await start({ leaseMs });
    const key = freshKey();
    await dying.mailboxLimiter.acquire(key, 4);
    const waiting = processes[1]!.mailboxLimiter.acquire(key);
    await until("the survivor is queued", async () => (await probe.queued(key)) === 1);
    const diedAt = Date.now();
    await dying.close(); // its connection is gone: no renewal, no release
    (await waiting)();
    const waitedMs = Date.now() - diedAt;
    // The last renewal was at most a third of the lease before the close.
    assert.ok(waitedMs >= leaseMs / 2, `granted after ${waitedMs} ms, before the lease lapsed`);
    assert.ok(waitedMs < leaseMs + 3_000, `granted only after ${waitedMs} ms`);
  });

  it("a waiter whose process died leaves the queue when its lease lapses and blocks nobody", async () => {
    const dying = await start({ leaseMs: 900, pollMs: 100 });
    const key = freshKey();
    const one = await processes[0]!.mailboxLimiter.acquire(key);
    dying.mailboxLimiter.acquire(key, 4).catch(() => {});
    await until("the doomed waiter is queued", async () => (await probe.queued(key)) === 1);
    const behind = processes[2]!.mailboxLimiter.acquire(key, 3);
    await until("the survivor is queued behind it", async () => (await probe.queued(key)) === 2);
    await dying.close();
    // The survivor (weight 3) fits beside the one slot held, once the dead head is gone.
    (await behind)();
    one();
  });
});

describe("shared limits on Redis: kill -9 of a process holding every slot of a mailbox", () => {
  const prefix = randomPrefix("limiter-kill");
  let limits: RedisLimits;
  let redis: Redis;

  before(async () => {
    limits = await createRedisLimits({ redis: TEST_REDIS_URL, prefix, log });
    redis = new Redis(TEST_REDIS_URL);
  });
  after(async () => {
    await limits?.close();
    redis?.disconnect();
    await deleteKeysUnder(prefix);
  });

  it("another process gets the slots within the lease plus a poll after the SIGKILL", async () => {
    const key = freshKey();
    const leaseMs = 2_000;
    const probe = probeOf(redis, prefix);
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/limiter-holder.ts"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        LIMITER_REDIS_URL: TEST_REDIS_URL,
        LIMITER_PREFIX: prefix,
        LIMITER_KEY: key,
        LIMITER_LEASE_MS: String(leaseMs),
      },
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    try {
      await until(
        "the child to hold the slots",
        () => {
          if (child.exitCode !== null) throw new Error(`The child exited (${child.exitCode}): ${output}`);
          return output.includes("held");
        },
        20_000,
      );
      assert.equal(await probe.inUse(key), 4);
      const waiting = limits.mailboxLimiter.acquire(key);
      await until("the survivor is queued", async () => (await probe.queued(key)) === 1);
      // Held past several renewals: the lease is kept alive by the child, not by its first grant.
      await until("the child renewed its lease", async () => {
        const [, score] = await redis.zrange(`${prefix}limiter:{${key}}:holders`, 0, 0, "WITHSCORES");
        return Number(score) > Date.now() + leaseMs / 2 && (await probe.queued(key)) === 1;
      });
      const killedAt = Date.now();
      child.kill("SIGKILL");
      (await waiting)();
      const waitedMs = Date.now() - killedAt;
      assert.ok(waitedMs < leaseMs + 3_000, `granted ${waitedMs} ms after the kill`);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
