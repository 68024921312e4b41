// Pure decisions of the token lifecycle, kept apart from I/O so they are testable on their own:
// when a stored token is good enough, how a refresh failure is classified, how long to cool down,
// and the errors a caller is answered with.
import { AppError } from "../../lib/errors.ts";
import { IdentityError } from "../../providers/microsoft/identity.ts";

/** Outcome label of `mailroom_token_refreshes_total`. */
export type RefreshOutcome = "ok" | "reauth_required" | "app_misconfigured" | "unavailable";

export interface TokenLifecycleTuning {
  /** An access token with less than this left is refreshed before use. */
  marginMs: number;
  /** How long a refresh lease holds without being released (longer than the token request timeout). */
  leaseMs: number;
  /** How often a process waiting for another's refresh re-reads the account row. */
  pollIntervalMs: number;
  /** How long a caller waits for another process's refresh before answering 503. */
  maxWaitMs: number;
  /** Cooldown after a failed refresh: doubles per failure in a row, from base to max. */
  cooldown: { baseMs: number; maxMs: number };
  /** While cooling down, a demand may still use a stored token with at least this left. */
  minUsableMs: number;
}

export const DEFAULT_TUNING: TokenLifecycleTuning = {
  marginMs: 5 * 60_000,
  leaseMs: 30_000,
  pollIntervalMs: 50,
  maxWaitMs: 45_000,
  cooldown: { baseMs: 5_000, maxMs: 5 * 60_000 },
  minUsableMs: 30_000,
};

/** Delay before the next refresh attempt after `failures` failures in a row (1 = the first). */
export function cooldownMs(failures: number, cooldown: TokenLifecycleTuning["cooldown"]): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  return Math.min(cooldown.maxMs, cooldown.baseMs * 2 ** exponent);
}

export type RefreshFailure =
  | { kind: "reauth_required"; aadsts: number | undefined }
  | { kind: "app_misconfigured"; aadsts: number | undefined }
  | { kind: "unavailable"; aadsts: number | undefined };

/**
 * Classifies what the token endpoint said about a refresh (MS reference §1.9: by AADSTS number, never
 * by text). Returns undefined for errors that did not come from Microsoft (bugs, database errors).
 */
export function classifyRefreshFailure(error: unknown): RefreshFailure | undefined {
  if (!(error instanceof IdentityError)) return undefined;
  const aadsts = error.details.aadsts;
  switch (error.kind) {
    case "reauth_required":
      return { kind: "reauth_required", aadsts };
    case "app_misconfigured":
      return { kind: "app_misconfigured", aadsts };
    case "flow_failed":
      // On a refresh grant, an invalid_grant the client classes as a connect-flow step (AADSTS70000:
      // grant invalid or malformed) still means this refresh token will never work again.
      return error.details.error === "invalid_grant"
        ? { kind: "reauth_required", aadsts }
        : { kind: "unavailable", aadsts };
    default:
      // unavailable (network, 5xx, 429) and invalid_response: passing, try again after a cooldown.
      return { kind: "unavailable", aadsts };
  }
}

/** Microsoft rejected the app's credentials: every refresh waits, and the operator must fix them. */
export function appUnavailable(
  code: string,
  aadsts: number | undefined,
  waitMs: number,
  cause: unknown,
): AppError {
  return new AppError("service_unavailable", {
    detail: `Microsoft rejected Mailroom's app credentials (${code}${aadsts ? `, AADSTS${aadsts}` : ""}); the operator must fix them in Settings → Microsoft OAuth.`,
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The mailbox's sign-in is lost: a reconnect link is the way back. */
export function disconnected(reason: string | null | undefined): AppError {
  return new AppError("disconnected_account", {
    detail: `The mailbox must sign in again${reason ? ` (${reason})` : ""}: create a hosted auth link with type "reconnect".`,
  });
}
