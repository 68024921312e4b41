// SIGTERM as an orchestrator sends it: Mailroom stops taking connections, finishes the requests in
// flight (here one waiting on a slow Microsoft), stops the job runner, and exits 0.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SEED_PASSWORD } from "../sandbox/src/seed.ts";
import { connectMeganOverHttp } from "./support/browser.ts";
import { BIN, runMailroom } from "./support/cli.ts";
import { freePort } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

describe("graceful shutdown", () => {
  let dataDir: string;
  let child: ChildProcess;
  let output = "";
  let env: Record<string, string>;
  let base: string;
  let sandbox: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "mailroom-shutdown-"));
    const port = await freePort();
    const sandboxPort = await freePort();
    base = `http://localhost:${port}`;
    sandbox = `http://localhost:${sandboxPort}`;
    env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      SANDBOX_PORT: String(sandboxPort),
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
      SHUTDOWN_TIMEOUT_MS: "30000",
    };
    child = spawn(process.execPath, [BIN, "start"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d) => (output += d));
    child.stderr?.on("data", (d) => (output += d));
    await until(
      "Mailroom to start",
      () => {
        if (child.exitCode !== null) throw new Error(`Mailroom exited:\n${output}`);
        return /Mailroom is ready/.test(output);
      },
      { timeoutMs: 60_000, intervalMs: 50, detail: () => output },
    );
  });

  after(() => {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a request in flight when SIGTERM arrives is answered, then the process exits 0", async () => {
    const created = await runMailroom(["api-key", "create", "--name", "drain"], env);
    const key = /^\s+(mr_[A-Za-z0-9_-]+)$/m.exec(created.stdout)![1]!;
    const accountId = await connectMeganOverHttp(base, sandbox, key, SEED_PASSWORD);

    // Microsoft becomes slow: every Graph call for Megan takes 0.8 s.
    const slow = await fetch(`${sandbox}/_sandbox/scenarios`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "latency", user: "megan.bowen@contoso.onmicrosoft.com", ms: 800 }),
    });
    assert.ok(slow.ok, await slow.text());

    const graphCalls = async () => {
      const stats = (await (await fetch(`${sandbox}/_sandbox/stats`)).json()) as {
        requests: Record<string, number>;
        in_flight: Record<string, number>;
      };
      const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
      return { arrived: sum(stats.requests), inFlight: sum(stats.in_flight) };
    };
    const before = await graphCalls();
    const inFlight = fetch(`${base}/api/v1/folders?account_id=${accountId}`, {
      headers: { "x-api-key": key },
    });
    // The request is in flight once Mailroom's Graph call for it is waiting at the slow Microsoft.
    await until("the folders request to wait on Microsoft", async () => {
      const now = await graphCalls();
      return now.arrived > before.arrived && now.inFlight > 0;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");

    const response = await inFlight.catch((error) => {
      throw new Error(
        `the in-flight request failed: ${error.cause ?? error}\n${output
          .split("\n")
          .filter((l) => /Shutting|Stopped|request|error|rror/.test(l))
          .slice(-30)
          .join("\n")}`,
      );
    });
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { object: string };
    assert.equal(body.object, "FolderList");
    assert.equal(await exited, 0);
    assert.match(output, /Shutting down: finishing in-flight requests/);
    assert.match(output, /"msg":"Stopped"/);
    await assert.rejects(fetch(`${base}/health`), "no new connections after shutdown");
  });
});

// SIGTERM when whoever reads Mailroom's stdout is gone or stopped reading (the parent exited, a
// `| head`, a log collector restarting): the process still ends, within SHUTDOWN_TIMEOUT_MS plus the
// watchdog's margin, however stuck its last log flush or its in-flight work is.
describe("shutdown always ends the process", () => {
  const SHUTDOWN_TIMEOUT_MS = 1500;
  /** Timeout, the watchdog's margin and slack for a loaded machine. */
  const EXIT_DEADLINE_MS = SHUTDOWN_TIMEOUT_MS + 1000 + 4000;
  const REPEAT = 3;

  interface Started {
    child: ChildProcess;
    base: string;
    sandbox: string;
    env: Record<string, string>;
    stderr: () => string;
    dispose(): void;
  }

  async function start(stdout: "read" | "unread"): Promise<Started> {
    const dataDir = mkdtempSync(join(tmpdir(), "mailroom-shutdown-"));
    const port = await freePort();
    const sandboxPort = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      SANDBOX_PORT: String(sandboxPort),
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    };
    const child = spawn(process.execPath, [BIN, "start"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d) => (stderr += d));
    // "unread": nothing ever consumes stdout, so the pipe fills once enough is logged.
    if (stdout === "read") child.stdout?.on("data", () => {});
    else child.stdout?.pause();
    const base = `http://localhost:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`Mailroom did not start (exit ${child.exitCode}):\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      child,
      base,
      sandbox: `http://localhost:${sandboxPort}`,
      env,
      stderr: () => stderr,
      dispose() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }

  /** Sends SIGTERM and waits for the exit, at most EXIT_DEADLINE_MS (then kills it and fails). */
  async function terminate(m: Started): Promise<number> {
    const startedAt = Date.now();
    const exited = new Promise<void>((resolve) => m.child.once("exit", () => resolve()));
    m.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), EXIT_DEADLINE_MS);
    });
    const outcome = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    assert.notEqual(
      outcome,
      "timeout",
      `still running ${EXIT_DEADLINE_MS} ms after SIGTERM (SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS})\n${m.stderr()}`,
    );
    return Date.now() - startedAt;
  }

  /** Enough requests, each logged at debug, to make Mailroom write to stdout. */
  async function traffic(base: string, requests: number): Promise<void> {
    for (let i = 0; i < requests; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${base}/api/v1/accounts`, { headers: { "x-api-key": "mr_not_a_key" } }).then(
            (r) => r.arrayBuffer(),
            () => undefined,
          ),
        ),
      );
    }
  }

  async function connectMailbox(m: Started): Promise<{ key: string; accountId: string }> {
    const created = await runMailroom(["api-key", "create", "--name", "busy"], m.env);
    const key = /^\s+(mr_[A-Za-z0-9_-]+)$/m.exec(created.stdout)![1]!;
    return { key, accountId: await connectMeganOverHttp(m.base, m.sandbox, key, SEED_PASSWORD) };
  }

  for (let run = 1; run <= REPEAT; run++) {
    it(`stdout's reader gone: SIGTERM ends the process within the deadline (run ${run})`, async () => {
      const m = await start("read");
      try {
        await traffic(m.base, 50);
        // The reader goes while Mailroom is logging, as SIGTERM arrives.
        const more = traffic(m.base, 500);
        m.child.stdout?.destroy();
        await terminate(m);
        await more;
      } finally {
        m.dispose();
      }
    });

    it(`stdout full and never read: SIGTERM ends the process within the deadline (run ${run})`, async () => {
      const m = await start("unread");
      try {
        await traffic(m.base, 1000);
        await terminate(m);
      } finally {
        m.dispose();
      }
    });

    it(`busy on a slow Microsoft with stdout's reader gone: SIGTERM ends the process within the deadline (run ${run})`, async () => {
      const m = await start("read");
      try {
        const { key, accountId } = await connectMailbox(m);
        const slow = await fetch(`${m.sandbox}/_sandbox/scenarios`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            action: "latency",
            user: "megan.bowen@contoso.onmicrosoft.com",
            ms: 60_000,
          }),
        });
        assert.ok(slow.ok, await slow.text());
        const inFlight = fetch(`${m.base}/api/v1/folders?account_id=${accountId}`, {
          headers: { "x-api-key": key },
        }).catch(() => undefined);
        m.child.stdout?.destroy();
        await traffic(m.base, 100);
        const took = await terminate(m);
        assert.ok(took < EXIT_DEADLINE_MS, `took ${took} ms`);
        await inFlight;
      } finally {
        m.dispose();
      }
    });
  }
});
