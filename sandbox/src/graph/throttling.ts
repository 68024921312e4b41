// Outlook's limits per app id + mailbox and the admin API's fault switches (reference §5): decided on
// a call's arrival, before routing, for direct calls and `$batch` steps alike.
import type { FaultSwitches, SandboxState } from "../state.ts";
import { GRAPH_MESSAGES, GraphError } from "./errors.ts";

/** Outlook limits per app id + mailbox (reference §5). */
export const MAX_CONCURRENT_REQUESTS = 4;
export const MAX_REQUESTS_PER_WINDOW = 10_000;
export const WINDOW_MS = 10 * 60 * 1000;

interface Window {
  times: number[];
  head: number;
}
const windowsByState = new WeakMap<SandboxState, Map<string, Window>>();

function bump(map: Map<string, number>, key: string, delta: number): number {
  const value = (map.get(key) ?? 0) + delta;
  map.set(key, value);
  return value;
}

function takeFault<K extends "throttleNext" | "failNext">(
  switches: FaultSwitches | undefined,
  name: K,
): FaultSwitches[K] | undefined {
  const fault = switches?.[name];
  if (!fault || fault.count <= 0) return undefined;
  fault.count -= 1;
  if (fault.count <= 0) delete switches[name];
  return fault;
}

const FAILURES: Record<number, { code: string; message: string }> = {
  500: { code: "generalException", message: "An unspecified error has occurred." },
  502: { code: "BadGateway", message: "Bad Gateway" },
  503: {
    code: "serviceNotAvailable",
    message:
      "The service is temporarily unavailable for maintenance or is overloaded. You may repeat the request after a delay, which may be specified in a Retry-After header.",
  },
  504: {
    code: "GatewayTimeout",
    message: "The server, while acting as a proxy, did not receive a timely response.",
  },
};

function tooManyRequests(retryAfterSeconds: number | string): GraphError {
  return new GraphError(
    429,
    "TooManyRequests",
    GRAPH_MESSAGES.tooManyRequests,
    { "Retry-After": String(retryAfterSeconds) },
    { code: "429", message: "Please retry after", status: "429" },
  );
}

export interface Admission {
  /** The error the call is answered with, or null to serve it. */
  rejection: GraphError | null;
  /** How long the call waits before it is answered (rejected or not). */
  latencyMs: number;
  /** The call holds one of the mailbox's in-flight slots: `release` it when done. */
  counted: boolean;
}

/**
 * Counts the arrival and decides its fate. `key` is `clientId|userId`; `isMailboxCall` says whether
 * Outlook's limits count it (mail calls) or only the fault switches apply (`/me`, `/subscriptions`).
 */
export function admit(
  state: SandboxState,
  call: { key: string; userId: string; clientId: string; isMailboxCall: boolean },
): Admission {
  const { key, isMailboxCall } = call;
  const counters = state.counters;
  let counted = false;
  let rejection: GraphError | null = null;
  const pairFaults = state.pairFaults.get(key);
  const userFaults = state.userFaults.get(call.userId);
  const appFaults = state.appFaults.get(call.clientId);
  if (isMailboxCall) {
    // Arrival is counted even when rejected, so tests can see the concurrency a client produced.
    counted = true;
    bump(counters.requests, key, 1);
    const inFlight = bump(counters.inFlight, key, 1);
    if (inFlight > (counters.peakConcurrency.get(key) ?? 0)) counters.peakConcurrency.set(key, inFlight);
    if (inFlight > MAX_CONCURRENT_REQUESTS) {
      bump(counters.throttled, key, 1);
      rejection = new GraphError(429, "ApplicationThrottled", GRAPH_MESSAGES.mailboxConcurrency, {
        "Retry-After": "1",
      });
    }
    let windows = windowsByState.get(state);
    if (!windows) {
      windows = new Map();
      windowsByState.set(state, windows);
    }
    let window = windows.get(key);
    if (!window) {
      window = { times: [], head: 0 };
      windows.set(key, window);
    }
    const now = state.now();
    while (window.head < window.times.length && window.times[window.head]! <= now - WINDOW_MS) window.head++;
    if (window.head > 1024 && window.head * 2 > window.times.length) {
      window.times = window.times.slice(window.head);
      window.head = 0;
    }
    if (!rejection && window.times.length - window.head >= MAX_REQUESTS_PER_WINDOW) {
      bump(counters.throttled, key, 1);
      const retryAfter = Math.max(1, Math.ceil((window.times[window.head]! + WINDOW_MS - now) / 1000));
      rejection = tooManyRequests(retryAfter);
    }
    if (!rejection) window.times.push(now);
  }
  if (!rejection) {
    const throttle =
      takeFault(pairFaults, "throttleNext") ??
      takeFault(userFaults, "throttleNext") ??
      takeFault(appFaults, "throttleNext");
    if (throttle) {
      if (isMailboxCall) bump(counters.throttled, key, 1);
      rejection = tooManyRequests(throttle.retryAfterSeconds);
    }
  }
  if (!rejection) {
    const failure =
      takeFault(pairFaults, "failNext") ??
      takeFault(userFaults, "failNext") ??
      takeFault(appFaults, "failNext");
    if (failure) {
      const detail = FAILURES[failure.status] ?? FAILURES[503]!;
      rejection = new GraphError(failure.status, detail.code, detail.message);
    }
  }
  const latencyMs = (pairFaults?.latencyMs ?? 0) + (userFaults?.latencyMs ?? 0) + (appFaults?.latencyMs ?? 0);
  return { rejection, latencyMs, counted };
}

/**
 * Empties the sliding request windows (every app + mailbox, or those of one `clientId|userId` key
 * prefix or suffix match). An admin switch for load tests that would otherwise spend a mailbox's
 * 10,000 requests within seconds; the concurrency limit is untouched. Returns how many windows held
 * requests.
 */
export function resetRequestWindows(state: SandboxState, match?: (key: string) => boolean): number {
  const windows = windowsByState.get(state);
  if (!windows) return 0;
  let reset = 0;
  for (const [key, window] of windows) {
    if (match && !match(key)) continue;
    if (window.times.length > window.head) reset++;
    windows.delete(key);
  }
  return reset;
}

export function release(state: SandboxState, key: string): void {
  bump(state.counters.inFlight, key, -1);
}
