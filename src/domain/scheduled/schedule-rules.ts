// Pure decisions of scheduled send (docs/adr/0011-send-once-and-scheduled.md): whether a `send_at` is
// acceptable, and what a failed send attempt leads to. Table-tested in test/scheduled-rules.test.ts.
import { AppError, isAppError } from "../../lib/errors.ts";

/** Runs of the send job before a send that keeps failing is given up (`failed`). */
export const SCHEDULED_SEND_MAX_ATTEMPTS = 10;

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** `send_at` as epoch ms: an ISO 8601 date-time with a zone, after `now`, at most `maxAheadMs` ahead. */
export function parseSendAt(value: unknown, now: number, maxAheadMs: number): number {
  if (typeof value !== "string" || !ISO_DATE_TIME.test(value.trim()))
    throw new AppError("invalid_parameters", {
      detail: "send_at: must be an ISO 8601 date-time with a time zone, e.g. 2030-01-31T09:00:00Z",
    });
  const at = Date.parse(value.trim());
  const [year, month, day] = value.trim().slice(0, 10).split("-").map(Number) as [number, number, number];
  // Date.parse rolls 2030-02-31 over into March: the calendar date itself must exist.
  const exists =
    month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (!Number.isFinite(at) || !exists)
    throw new AppError("invalid_parameters", { detail: `send_at: '${value}' is not a valid date-time` });
  if (at <= now) throw new AppError("invalid_parameters", { detail: "send_at: must be in the future" });
  if (at - now > maxAheadMs)
    throw new AppError("invalid_parameters", {
      detail: `send_at: at most ${Math.round(maxAheadMs / 86_400_000)} days ahead (SCHEDULE_MAX_DAYS)`,
    });
  return at;
}

export type AttemptOutcome =
  /** The draft is gone from the mailbox (deleted in Outlook): nothing to send, never retried. */
  | { kind: "draft_missing"; reason: string }
  /** The mailbox must sign in again: wait without spending attempts. */
  | { kind: "needs_reauth"; reason: string }
  /** Try again: after `delayMs` when Microsoft said (Retry-After), else with the job's backoff. */
  | { kind: "retry"; reason: string; delayMs?: number }
  /** Give up: the send is `failed` with the reason. */
  | { kind: "fail"; reason: string };

/** What a failed `/send` attempt leads to, given the attempt it was (1-based). */
export function attemptOutcome(
  error: unknown,
  attempt: number,
  maxAttempts = SCHEDULED_SEND_MAX_ATTEMPTS,
): AttemptOutcome {
  const reason = describe(error);
  if (isAppError(error)) {
    if (error.code === "resource_not_found")
      return { kind: "draft_missing", reason: "The draft was deleted from the mailbox before it was sent." };
    if (error.code === "disconnected_account") return { kind: "needs_reauth", reason };
    if (!error.retryable) return { kind: "fail", reason };
  }
  if (attempt >= maxAttempts)
    return { kind: "fail", reason: `${reason} (gave up after ${attempt} attempts)` };
  const retryAfter = isAppError(error) ? error.retryAfterSeconds : undefined;
  return retryAfter !== undefined
    ? { kind: "retry", reason, delayMs: retryAfter * 1000 }
    : { kind: "retry", reason };
}

function describe(error: unknown): string {
  if (isAppError(error)) return `${error.code}: ${error.detail ?? error.message}`;
  return error instanceof Error ? error.message : String(error);
}
