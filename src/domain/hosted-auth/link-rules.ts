// Pure rules for hosted links: what a link request must satisfy, and whether a link can still be used.
import { AppError } from "../../lib/errors.ts";
import type { HostedLinkRow } from "../../storage/repositories/hosted-auth.repository.ts";
import type { FailureOutcome, LinkInput } from "./types.ts";

const DAY_MS = 24 * 3600 * 1000;
/** Date.parse also takes "March 7" or "2030"; a link's expiry is an ISO 8601 date(-time) only. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Checks the providers and expiry of a link request; returns the expiry (epoch ms) or throws
 * `invalid_parameters`. URL policy and the account to reconnect need I/O and are checked by the caller.
 */
export function checkLinkInput(
  input: Pick<LinkInput, "providers" | "expiresOn">,
  now: number,
  maxDays: number | undefined,
): { expiresAt: number } {
  const providers = Array.isArray(input.providers) ? input.providers : [input.providers];
  const ok = providers.some((p) => p === "*" || p === "*:MAILING" || p === "OUTLOOK");
  if (!ok) {
    throw new AppError("invalid_parameters", {
      detail: `providers: Mailroom connects Microsoft accounts only; use "*", "*:MAILING" or ["OUTLOOK"] (got ${JSON.stringify(input.providers)})`,
    });
  }
  const expiresAt = ISO_DATE_TIME.test(input.expiresOn) ? Date.parse(input.expiresOn) : Number.NaN;
  if (Number.isNaN(expiresAt))
    throw new AppError("invalid_parameters", { detail: "expiresOn: must be an ISO 8601 date-time" });
  if (expiresAt <= now)
    throw new AppError("invalid_parameters", { detail: "expiresOn: must be in the future" });
  if (maxDays !== undefined && expiresAt - now > maxDays * DAY_MS)
    throw new AppError("invalid_parameters", {
      detail: `expiresOn: at most ${maxDays} days ahead (HOSTED_LINK_MAX_DAYS)`,
    });
  return { expiresAt };
}

/** The link a wizard URL names, or why it can no longer be used. */
export function checkLink(
  link: HostedLinkRow | undefined,
  now: number,
): { link: HostedLinkRow } | { failure: FailureOutcome } {
  if (!link) {
    return {
      failure: {
        kind: "failure",
        reason: "expired_link",
        link: undefined,
        message: "This connection link is not valid. Ask for a new one.",
      },
    };
  }
  if (link.used_at !== null) {
    return {
      failure: {
        kind: "failure",
        reason: "used_link",
        link,
        accountId: link.account_id ?? undefined,
        message: "This connection link was already used. Ask for a new one to connect another mailbox.",
      },
    };
  }
  if (link.expires_at <= now) {
    return {
      failure: {
        kind: "failure",
        reason: "expired_link",
        link,
        message: "This connection link has expired. Ask for a new one.",
      },
    };
  }
  return { link };
}
