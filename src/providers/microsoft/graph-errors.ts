// Graph error → AppError, at the module boundary (reference §5). Switch on `error.code`, never on the
// message. The raw Graph body stays on `cause` for the log; it never reaches Mailroom's caller.
import { AppError } from "../../lib/errors.ts";

export interface GraphErrorBody {
  error?: { code?: string; message?: string; innerError?: Record<string, unknown> };
}

/** What a failed Graph call carried, kept as the AppError's cause. */
export class GraphCallError extends Error {
  constructor(
    readonly status: number,
    readonly graphCode: string | undefined,
    readonly body: unknown,
    readonly requestId: string | undefined,
  ) {
    super(`Graph ${status}${graphCode ? ` ${graphCode}` : ""}`);
    this.name = "GraphCallError";
  }
}

export function graphErrorCode(body: unknown): string | undefined {
  const code = (body as GraphErrorBody | undefined)?.error?.code;
  return typeof code === "string" ? code : undefined;
}

/** Translates a final (non-retried) Graph failure. `retryAfterSeconds` only for 429/503/504. */
export function translateGraphError(
  status: number,
  body: unknown,
  options: { requestId?: string | undefined; retryAfterSeconds?: number | undefined } = {},
): AppError {
  const code = graphErrorCode(body);
  const cause = new GraphCallError(status, code, body, options.requestId);
  switch (code) {
    case "ErrorItemNotFound":
    case "ResourceNotFound":
    case "itemNotFound":
    case "ErrorInvalidIdMalformed":
    case "ErrorInvalidId":
      return new AppError("resource_not_found", { detail: "The email or folder was not found.", cause });
    case "ErrorAccessDenied":
    case "accessDenied":
    case "Authorization_RequestDenied":
      return new AppError("insufficient_permissions", {
        detail: "Microsoft denied access to this mailbox item.",
        cause,
      });
    case "MailboxNotEnabledForRESTAPI":
      return new AppError("insufficient_permissions", {
        detail:
          "Microsoft reports that this mailbox is not enabled for the Graph API (inactive, unlicensed, soft-deleted or hosted on-premises).",
        cause,
      });
    case "ErrorInvalidRecipients":
      return new AppError("invalid_recipient", { detail: "Microsoft rejected a recipient.", cause });
    case "ErrorMessageSizeExceeded":
    case "ErrorRequestEntityTooLarge":
      return new AppError("content_too_large", {
        detail: "The message exceeds the size Microsoft accepts.",
        cause,
      });
    case "InvalidAuthenticationToken":
      return new AppError("disconnected_account", {
        detail: "Microsoft rejected the account's access token; the mailbox needs to sign in again.",
        cause,
      });
  }
  if (status === 429)
    return new AppError("too_many_requests", {
      detail: "Microsoft is throttling this mailbox.",
      retryAfterSeconds: options.retryAfterSeconds ?? 1,
      cause,
    });
  if (status === 503 || status === 504)
    return new AppError("service_unavailable", {
      detail: "Microsoft Graph is unavailable right now.",
      retryAfterSeconds: options.retryAfterSeconds ?? 1,
      cause,
    });
  if (status === 401)
    return new AppError("disconnected_account", {
      detail: "Microsoft rejected the account's credentials; the mailbox needs to sign in again.",
      cause,
    });
  if (status === 403)
    return new AppError("insufficient_permissions", { detail: "Microsoft denied the request.", cause });
  if (status === 404) return new AppError("resource_not_found", { detail: "Not found at Microsoft.", cause });
  if (status === 413)
    return new AppError("content_too_large", { detail: "The request is too large for Microsoft.", cause });
  // Microsoft's front end refuses a URL or header block over its limits (414, 431; 400 "Request Too
  // Long" wrapped as UnknownError): the request was too large for Microsoft, not a Microsoft failure.
  if (status === 414 || status === 431 || (status === 400 && isRequestTooLong(body)))
    return new AppError("too_many_characters", {
      detail: "The request is too long for Microsoft (its URL or headers); use fewer or shorter filters.",
      cause,
    });
  if (status === 400)
    return new AppError("invalid_parameters", {
      detail: "Microsoft rejected the request as invalid.",
      cause,
    });
  return new AppError("provider_error", { detail: "Microsoft Graph answered with an error.", cause });
}

function isRequestTooLong(body: unknown): boolean {
  const message = (body as GraphErrorBody | undefined)?.error?.message;
  return typeof message === "string" && /Request Too Long|URL is too long/i.test(message);
}

/** `Retry-After` in seconds: delta-seconds (fractional allowed, Graph sends e.g. 2.128) or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, (date - now) / 1000);
  return undefined;
}
