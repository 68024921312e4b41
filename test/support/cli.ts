import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./connect-harness.ts";
import { until } from "./until.ts";

export const BIN = resolve(import.meta.dirname, "../../bin/mailroom.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mailroom …` as an operator would, in a child process. */
export function runMailroom(
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_FORMAT: "json", ...env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += d));
    child.stderr?.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mailroom ${args.join(" ")} did not finish: ${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export interface StartedMailroom {
  child: ChildProcess;
  /** `http://localhost:<port>`, as the banner prints it. */
  base: string;
  port: number;
  /** The embedded sandbox, `http://localhost:<port>`. */
  sandbox: string;
  dataDir: string;
  /** What the process was started with (DATA_DIR, PORT, …), for `runMailroom` against the same data. */
  env: Record<string, string>;
  /** Everything it printed so far, stdout and stderr together. */
  output(): string;
  /** Ends the process (SIGTERM unless told otherwise), waits for it, and removes its data directory. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `mailroom start` on free ports with a fresh DATA_DIR, as an operator runs it; resolves once its output
 * matches `readyWhen` (the "Mailroom is ready" log line by default).
 */
export async function startMailroom(
  options: {
    env?: Record<string, string>;
    readyWhen?: RegExp;
    dataDirPrefix?: string;
    /** Node flags before the script, e.g. --cpu-prof (which NODE_OPTIONS does not allow). */
    nodeArgs?: string[];
  } = {},
): Promise<StartedMailroom> {
  const dataDir = mkdtempSync(join(tmpdir(), options.dataDirPrefix ?? "mailroom-"));
  const port = await freePort();
  const sandboxPort = await freePort();
  const env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    SANDBOX_PORT: String(sandboxPort),
    LOG_FORMAT: "json",
    ...options.env,
  };
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, "start"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const started: StartedMailroom = {
    child,
    base: `http://localhost:${port}`,
    port,
    sandbox: `http://localhost:${sandboxPort}`,
    dataDir,
    env,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill(signal);
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const readyWhen = options.readyWhen ?? /Mailroom is ready/;
  try {
    await until(
      "Mailroom to start",
      () => {
        if (child.exitCode !== null) throw new Error(`Mailroom exited:\n${output}`);
        return readyWhen.test(output);
      },
      { timeoutMs: 60_000, intervalMs: 50, detail: () => output },
    );
  } catch (error) {
    await started.stop("SIGKILL");
    throw error;
  }
  return started;
}
