// The servers under test, each started the way an operator (or the bench runner) would start it,
// in its own child process.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Child,
  cleanEnv,
  forgetTempDir,
  freePort,
  LOCALHOST,
  REPO_ROOT,
  removeOnExit,
  runCommand,
  spawnChild,
  waitFor200,
} from "./processes.ts";

export interface Target {
  name: string;
  child: Child;
  port: number;
  /** Path autocannon loads and the headers it sends. */
  path: string;
  headers: Record<string, string>;
  /** ms from spawn to the first 200 on the readiness path. */
  startupMs: number;
  stop(): Promise<void>;
}

const MAILROOM_BIN = join(REPO_ROOT, "bin/mailroom.js");
const NODE = process.execPath;

async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-bench-"));
  removeOnExit(dir);
  return dir;
}

function mailroomEnv(dataDir: string, port: number): Record<string, string> {
  return cleanEnv({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: LOCALHOST,
    SANDBOX: "off",
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
  });
}

/** `mailroom api-key create` prints the key alone on an indented line. */
export async function createApiKey(dataDir: string): Promise<string> {
  const out = await runCommand(NODE, [MAILROOM_BIN, "api-key", "create", "--name", "bench"], {
    env: mailroomEnv(dataDir, 0),
  });
  const key = /^\s+(mr_\S+)\s*$/m.exec(out)?.[1];
  if (!key) throw new Error(`api-key create printed no key:\n${out}`);
  return key;
}

export interface MailroomOptions {
  /** Create an API key (before start) and send it as X-API-KEY to /api/v1/accounts. */
  withApiKey?: boolean;
  /** Extra Node flags for the child, e.g. ["--cpu-prof", "--cpu-prof-dir=…"]. */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

/** Mailroom on a fresh DATA_DIR (SQLite), no sandbox; ready when GET /ready answers 200. */
export async function startMailroom(options: MailroomOptions = {}): Promise<Target> {
  const dataDir = await tempDataDir();
  const port = await freePort();
  const headers: Record<string, string> = {};
  if (options.withApiKey) headers["x-api-key"] = await createApiKey(dataDir);
  const spawnedAt = performance.now();
  const child = spawnChild("mailroom", NODE, [...(options.nodeFlags ?? []), MAILROOM_BIN, "start"], {
    env: mailroomEnv(dataDir, port),
  });
  const stop = async () => {
    await child.stop();
    await rm(dataDir, { recursive: true, force: true });
    forgetTempDir(dataDir);
  };
  try {
    const readyAt = await waitFor200(child, port, "/ready", { timeoutMs: options.readyTimeoutMs ?? 30_000 });
    return {
      name: "mailroom",
      child,
      port,
      path: "/api/v1/accounts",
      headers,
      startupMs: readyAt - spawnedAt,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Bare Fastify hello-world through the same loader as Mailroom (`--import tsx`), so the ratio
 * shows what Mailroom adds, not what TypeScript loading costs.
 */
export async function startBaseline(options: { readyTimeoutMs?: number } = {}): Promise<Target> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = spawnChild(
    "baseline",
    NODE,
    ["--import", "tsx", join(REPO_ROOT, "bench/baseline-server.ts")],
    {
      env: cleanEnv({ PORT: String(port) }),
    },
  );
  try {
    const readyAt = await waitFor200(child, port, "/", { timeoutMs: options.readyTimeoutMs ?? 30_000 });
    return {
      name: "baseline",
      child,
      port,
      path: "/",
      headers: {},
      startupMs: readyAt - spawnedAt,
      stop: () => child.stop(),
    };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export class SkipScenario extends Error {}

/**
 * The Microsoft sandbox alone (`bench/sandbox-server.ts`), with a minted Graph token. Problems
 * with the sandbox itself (not built yet, no token) become SkipScenario, not a broken run.
 */
export async function startSandboxTarget(nodeFlags: string[] = []): Promise<Target> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = spawnChild(
    "sandbox",
    NODE,
    [...nodeFlags, "--import", "tsx", join(REPO_ROOT, "bench/sandbox-server.ts")],
    {
      env: cleanEnv({ PORT: String(port) }),
    },
  );
  try {
    const line = await firstJsonLine(child, 60_000);
    if ("error" in line) throw new SkipScenario(`sandbox did not start: ${String(line.error)}`);
    const token = typeof line.token === "string" ? line.token : undefined;
    if (!token) throw new SkipScenario(`sandbox-server printed no token: ${JSON.stringify(line)}`);
    return {
      name: "sandbox",
      child,
      port,
      path: "/v1.0/me/messages?$top=50",
      headers: { authorization: `Bearer ${token}` },
      startupMs: performance.now() - spawnedAt,
      stop: () => child.stop(),
    };
  } catch (error) {
    await child.stop();
    if (error instanceof SkipScenario) throw error;
    throw new SkipScenario(error instanceof Error ? error.message : String(error));
  }
}

export async function firstJsonLine(child: Child, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = performance.now() + timeoutMs;
  let exitCode: number | null | undefined;
  child.exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    const line = child
      .stdout()
      .split("\n")
      .find((l) => l.trim().startsWith("{") && l.trim().endsWith("}"));
    if (line) return JSON.parse(line) as Record<string, unknown>;
    if (exitCode !== undefined) {
      throw new Error(
        `${child.name} exited (code ${exitCode}) before printing its URL:\n${lastLines(child.output())}`,
      );
    }
    if (performance.now() > deadline) throw new Error(`${child.name} printed nothing within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function lastLines(text: string, count = 8): string {
  return text.trim().split("\n").slice(-count).join("\n");
}
