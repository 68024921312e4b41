// The outbox survives `kill -9`: a Mailroom process publishes an event and is SIGKILLed while the POST is
// in flight; the next process on the same database delivers it (at least once, attempt 2, same event id).
// On every dialect.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { buildServices } from "../src/app/services.ts";
import { loadConfig } from "../src/config/config.ts";
import { createLogger } from "../src/lib/logger.ts";
import { verifySignature } from "../src/outbound/signing.ts";
import { startReceiver } from "./support/connect-harness.ts";
import { createTestDatabase, type Dialect, dialects } from "./support/databases.ts";
import { until } from "./support/until.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

for (const dialect of dialects()) {
  describe(`webhook delivery after a crash on ${dialect}`, () => crashSuite(dialect));
}

function crashSuite(dialect: Dialect): void {
  it("an event accepted by a process killed with SIGKILL mid-delivery is delivered by the next process", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mailroom-wh-crash-"));
    const database = await createTestDatabase(dialect);
    const receiver = await startReceiver();
    receiver.respond = (_req, index) => (index === 0 ? "hang" : { status: 200 });
    const env = {
      DATA_DIR: dataDir,
      SANDBOX: "off",
      DATABASE_URL:
        database.config.kind === "postgres" ? database.config.url : `sqlite://${database.sqlitePath}`,
      WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
      LOG_LEVEL: "silent",
    };
    try {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "test/fixtures/webhooks-crash-worker.ts",
          JSON.stringify({ env, receiverUrl: receiver.url }),
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      await until(
        "the first attempt to reach the receiver",
        () => {
          if (child.exitCode !== null) throw new Error(`the worker exited: ${stderr}`);
          return receiver.received.length > 0;
        },
        20_000,
      );
      const published = JSON.parse(stdout.split("\n")[0]!) as {
        secret: string;
        webhookId: string;
        eventId: string;
      };
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      assert.equal(((await exited) as [number | null, string | null])[1], "SIGKILL");

      const services = await buildServices(loadConfig(env), createLogger({ level: "silent" }), {
        jobs: { pollIntervalMs: 20, leaseMs: 1_000 },
      });
      try {
        await services.jobs.start();
        const second = await until("the delivery after the restart", () => receiver.received[1], 15_000);
        assert.equal(second.headers["x-mailroom-event-id"], published.eventId);
        assert.equal(second.headers["x-mailroom-attempt"], "2", "the killed attempt was counted");
        assert.ok(
          verifySignature(
            published.secret,
            second.body,
            String(second.headers["x-mailroom-signature"]),
            Math.floor(Date.now() / 1000),
          ),
        );
        const delivery = await until("the delivery to be recorded", async () => {
          const row = await services.repos.webhooks.findDeliveryFor(published.eventId, published.webhookId);
          return row?.status === "delivered" ? row : undefined;
        });
        assert.equal(delivery.attempts, 2);
      } finally {
        await services.close();
      }
    } finally {
      await receiver.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
