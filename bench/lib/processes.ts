// Child processes for the benchmarks. Every child runs in its own process group (detached) so that
// stopping it also stops anything it spawned, and every child is registered so an error, Ctrl-C or
// a normal exit of the runner leaves no strays.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const LOCALHOST = "127.0.0.1";

/** Output kept per child for error messages (the tail of stdout and stderr). */
const OUTPUT_TAIL_CHARS = 8_000;

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  /** Tail of what the child wrote to stdout and stderr, for error messages. */
  output(): string;
  stdout(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const live = new Set<Child>();
const tempDirs = new Set<string>();

/** A temporary directory removed when the runner exits, however it exits. */
export function removeOnExit(dir: string): void {
  installCleanupHooks();
  tempDirs.add(dir);
}

export function forgetTempDir(dir: string): void {
  tempDirs.delete(dir);
}

function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

let hooksInstalled = false;
function installCleanupHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Synchronous last resort: 'exit' handlers cannot wait, so SIGKILL whatever is left.
  process.on("exit", () => {
    for (const child of live) killGroup(child.pid, "SIGKILL");
    removeTempDirs();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const child of live) killGroup(child.pid, "SIGKILL");
      removeTempDirs();
      process.exit(130);
    });
  }
}

/**
 * The environment children get: only what Node needs plus the explicit settings, so a developer's
 * shell (DATABASE_URL, LOG_LEVEL, …) does not change what is measured.
 */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG", "TZ"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string },
): Child {
  installCleanupHooks();
  const proc = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (proc.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  const pid = proc.pid;
  let tail = "";
  let stdoutText = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
  };
  proc.stdout?.on("data", (chunk: Buffer) => {
    keep(chunk);
    stdoutText = (stdoutText + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
  });
  proc.stderr?.on("data", keep);
  const exited = new Promise<number | null>((done) => proc.once("exit", (code) => done(code)));
  const child: Child = {
    name,
    pid,
    process: proc,
    output: () => tail,
    stdout: () => stdoutText,
    exited,
    stop: async () => {
      if (!live.has(child)) return;
      killGroup(pid, "SIGTERM");
      // A profiled child writes its profile on exit: give it time (SIGKILL would lose the profile).
      const grace = args.some((arg) => arg.startsWith("--cpu-prof")) ? 30_000 : 3_000;
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), grace);
      await exited;
      clearTimeout(timer);
      // The group may still hold grandchildren after the leader exits.
      killGroup(pid, "SIGKILL");
      live.delete(child);
    },
  };
  exited.then(() => {
    if (proc.exitCode !== null || proc.signalCode !== null) live.delete(child);
  });
  live.add(child);
  return child;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop()));
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, LOCALHOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** One GET to 127.0.0.1; resolves the status (0 when the connection fails). */
export function getStatus(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((done) => {
    const req = request({ host: LOCALHOST, port, path, headers, agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.once("end", () => done(res.statusCode ?? 0));
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => done(0));
    req.end();
  });
}

export function getText(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: LOCALHOST, port, path, headers, agent: false, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.once("end", () => done({ status: res.statusCode ?? 0, body }));
    });
    req.once("timeout", () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.once("error", fail);
    req.end();
  });
}

/**
 * Polls `GET path` every `intervalMs` until it answers 200; fails if the child exits first or the
 * deadline passes. Resolves the time of the first 200 (performance.now()).
 */
export async function waitFor200(
  child: Child,
  port: number,
  path: string,
  { intervalMs = 10, timeoutMs = 30_000 } = {},
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let exitCode: number | null | undefined;
  child.exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(
        `${child.name} exited (code ${exitCode}) before GET ${path} answered 200:\n${child.output()}`,
      );
    }
    if ((await getStatus(port, path)) === 200) return performance.now();
    if (performance.now() > deadline) {
      throw new Error(
        `${child.name}: GET ${path} did not answer 200 within ${timeoutMs} ms:\n${child.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface MemoryReading {
  /** Resident set size now, MiB. */
  rssMiB: number;
  /** Peak resident set size since start (VmHWM), MiB. */
  peakRssMiB: number;
}

/** Reads VmRSS / VmHWM from /proc (Linux). */
export async function readMemory(pid: number): Promise<MemoryReading> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]);
  };
  return { rssMiB: kib("VmRSS") / 1024, peakRssMiB: kib("VmHWM") / 1024 };
}

/** Runs a command to completion (bounded), returning stdout; rejects with its output on failure. */
export function runCommand(
  command: string,
  args: string[],
  options: { env: Record<string, string>; timeoutMs?: number; input?: string },
): Promise<string> {
  return new Promise((done, fail) => {
    const spawned = execFile(
      command,
      args,
      { cwd: REPO_ROOT, env: options.env, timeout: options.timeoutMs ?? 60_000 },
      (error, stdout, stderr) => {
        if (error)
          fail(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`));
        else done(stdout);
      },
    );
    // Standard input, e.g. a secret for `--client-secret-stdin`; closed either way.
    spawned.stdin?.end(options.input ?? "");
  });
}

/**
 * CPU time a process has spent on a CPU so far, all its threads, in ms (Linux schedstat: nanosecond
 * resolution, where /proc/<pid>/stat counts in 10 ms ticks).
 */
export function cpuTimeMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read: its time is no longer counted anywhere.
    }
  }
  return ns / 1e6;
}
