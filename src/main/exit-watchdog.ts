// The deadline SIGTERM promises, kept even when the main thread never yields again (a synchronous
// loop, a write blocked on a full pipe): a timer on the main thread cannot fire then, so a worker
// thread with its own event loop holds it. A worker's process.exit() ends only the worker; a signal
// to the process ends all of it.
import { Worker } from "node:worker_threads";

const WATCHDOG_SOURCE = `
const { workerData } = require("node:worker_threads");
setTimeout(() => process.kill(workerData.pid, "SIGKILL"), workerData.afterMs);
`;

/** Kills this process `afterMs` from now unless it has exited by then. */
export function startExitWatchdog(afterMs: number): void {
  // It writes nothing: a log line to a stdout or stderr that blocks would stall the watchdog too.
  const worker = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    workerData: { pid: process.pid, afterMs },
    stdout: true,
    stderr: true,
  });
  worker.unref();
}
