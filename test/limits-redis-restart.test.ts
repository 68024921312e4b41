// Redis lost and back while the mailbox limiter is in use, on a private redis-server (the shared one
// is never stopped): calls fall back to per-process counting while it is down, and the limiter is
// shared again once it is back (its script reloaded after the restart emptied Redis' script cache).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createLogger } from "../src/lib/logger.ts";
import { createRedisLimits, type RedisLimits } from "../src/redis/limits.ts";
import { freePort } from "./support/connect-harness.ts";
import { randomPrefix } from "./support/redis-keys.ts";
import { until } from "./support/until.ts";

const log = createLogger({ level: "silent" });

async function startRedis(port: number): Promise<ChildProcess> {
  const server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  await until(`redis-server on port ${port}`, async () => {
    if (server.exitCode !== null) throw new Error(`redis-server exited (${server.exitCode})`);
    const ping = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    ping.on("error", () => {});
    try {
      return (await ping.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      ping.disconnect();
    }
  });
  return server;
}

async function stopRedis(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGKILL");
  await exited;
}

describe("shared limits: Redis lost and back", () => {
  const prefix = randomPrefix("restart");
  let port: number;
  let server: ChildProcess;
  let limits: RedisLimits;
  let probe: Redis;

  before(async () => {
    port = await freePort();
    server = await startRedis(port);
    limits = await createRedisLimits({
      redis: `redis://127.0.0.1:${port}`,
      prefix,
      log,
      mailbox: { leaseMs: 1_500, pollMs: 100 },
    });
    probe = new Redis(port, "127.0.0.1", { retryStrategy: () => 100 });
    probe.on("error", () => {});
  });
  after(async () => {
    await limits?.close();
    probe?.disconnect();
    if (server) await stopRedis(server);
  });

  const holdersOf = (key: string) => probe.zcard(`${prefix}limiter:{${key}}:holders`);

  async function peakOf(key: string, tasks: number): Promise<number> {
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: tasks }, () =>
        limits.mailboxLimiter.run(key, async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        }),
      ),
    );
    return peak;
  }

  it("counts in Redis, keeps requests running 4 at a time while Redis is down, and counts in Redis again once it is back", async () => {
    const release = await limits.mailboxLimiter.acquire("before");
    assert.equal(await holdersOf("before"), 1, "the slot is held in Redis");
    release();

    await stopRedis(server);
    assert.equal(await peakOf("during", 12), 4);

    server = await startRedis(port);
    await until(
      "the limiter to hold its slots in Redis again",
      async () => {
        const held = await limits.mailboxLimiter.acquire("after");
        const inRedis = (await holdersOf("after").catch(() => 0)) === 1;
        held();
        return inRedis;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.equal(await peakOf("after", 12), 4);
    // A waiter is woken again after the restart (the subscriber came back too, or the poll found it).
    const all = await limits.mailboxLimiter.acquire("after", 4);
    const waiting = limits.mailboxLimiter.acquire("after");
    await until(
      "the waiter is queued in Redis",
      async () => (await probe.zcard(`${prefix}limiter:{after}:queue`)) === 1,
    );
    all();
    (await waiting)();
  });
});
