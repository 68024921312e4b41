// The one error type of Mailroom. Every failure that reaches a caller is an AppError with a code from
// the closed set below; HTTP status, Unipile `type`, title and the operator-facing fix derive from it.

export const ERROR_CODES = {
  malformed_request: {
    status: 400,
    title: "Bad Request",
    fix: "Send a well-formed body: valid JSON with `Content-Type: application/json`, or multipart/form-data where the endpoint accepts it.",
  },
  invalid_parameters: {
    status: 400,
    title: "Bad Request",
    fix: "Correct the parameter named in `detail`; the OpenAPI document at /api/v1/openapi.json lists every field and its type.",
  },
  missing_parameters: {
    status: 400,
    title: "Bad Request",
    fix: "Add the required parameter named in `detail`.",
  },
  content_too_large: {
    status: 400,
    title: "Bad Request",
    fix: "Send a smaller body or attachment; messages may be up to MAX_MESSAGE_MB (default 150 MB, Microsoft's ceiling).",
  },
  too_many_characters: {
    status: 400,
    title: "Bad Request",
    fix: "Shorten the input named in `detail`: a path parameter up to 2048 characters, `from`/`to` up to 320, `any_email` up to 1024 characters and 20 addresses, `search` up to 4096, request headers up to 16 KB.",
  },
  missing_credentials: {
    status: 401,
    title: "Unauthorized",
    fix: "Send an API key in the `X-API-KEY` header. Create one with `npx mailroom api-key create --name NAME`.",
  },
  invalid_credentials: {
    status: 401,
    title: "Unauthorized",
    fix: "The API key is unknown or revoked. List keys with `npx mailroom api-key list` and create a new one if needed.",
  },
  disconnected_account: {
    status: 401,
    title: "Unauthorized",
    fix: 'The mailbox needs to sign in again. Create a hosted auth link with `type: "reconnect"` and send the user there.',
  },
  expired_link: {
    status: 401,
    title: "Unauthorized",
    fix: "The hosted auth link expired or was already used. Create a new one with POST /api/v1/hosted/accounts/link.",
  },
  wrong_account: {
    status: 401,
    title: "Unauthorized",
    fix: "The Microsoft account that signed in (or whose tokens were sent) is not the mailbox of the account being reconnected. Sign in with that mailbox.",
  },
  insufficient_permissions: {
    status: 403,
    title: "Forbidden",
    fix: "The user or the Azure app lacks a permission. Grant the delegated Graph permissions Mail.ReadWrite, Mail.Send and Mail.Read, then reconnect the account.",
  },
  resource_not_found: {
    status: 404,
    title: "Not Found",
    fix: "Check the id in the path. Ids are Mailroom ids, or provider ids together with `account_id`.",
  },
  already_exists: {
    status: 409,
    title: "Conflict",
    fix: "The resource already exists; use the existing one or choose another name.",
  },
  operation_canceled: {
    status: 409,
    title: "Conflict",
    fix: "The operation was not carried out in the resource's current state: a request with the same Idempotency-Key is still running (retry later to get its answer), or a scheduled email is already sending, sent, failed or cancelled (GET /api/v1/emails/scheduled/{schedule_id}).",
  },
  unsupported_media_type: {
    status: 415,
    title: "Unsupported Media Type",
    fix: "Send `application/json`, or `multipart/form-data` where the endpoint documents it.",
  },
  invalid_recipient: {
    status: 422,
    title: "Unprocessable Entity",
    fix: "One of the recipients' addresses was rejected by Microsoft; correct it and send again.",
  },
  parent_mail_not_found: {
    status: 422,
    title: "Unprocessable Entity",
    fix: "The email named in `reply_to` does not exist in this account.",
  },
  invalid_headers: {
    status: 422,
    title: "Unprocessable Entity",
    fix: "Remove or rename the `custom_headers` entries named in `detail`: headers Microsoft builds itself (From, To, Subject, Date, Message-ID, Content-Type…) cannot be set, and a name must be printable ASCII without `:` or spaces, a value free of line breaks.",
  },
  invalid_folder: {
    status: 422,
    title: "Unprocessable Entity",
    fix: "Name an existing folder by its id or its name; GET /api/v1/folders lists them.",
  },
  send_as_denied: {
    status: 422,
    title: "Unprocessable Entity",
    fix: "The mailbox may not send as the `from` address; omit `from` or grant Send As in Exchange.",
  },
  unprocessable_entity: {
    status: 422,
    title: "Unprocessable Entity",
    fix: "The request cannot be processed as sent: an Idempotency-Key first used with another request (method, path or body) needs a new key; retry with the same body to get the first answer.",
  },
  too_many_requests: {
    status: 429,
    title: "Too Many Requests",
    fix: "Microsoft is throttling this mailbox. Wait for the number of seconds in `Retry-After`, then retry.",
  },
  unexpected_error: {
    status: 500,
    title: "Internal Server Error",
    fix: "Something failed inside Mailroom. The server log has the details under the request id; retry, and report it if it persists.",
  },
  provider_error: {
    status: 500,
    title: "Internal Server Error",
    fix: "Microsoft answered with an error. Retry later; the server log has Microsoft's response.",
  },
  feature_not_implemented: {
    status: 501,
    title: "Not Implemented",
    fix: "Mailroom connects Microsoft accounts only: this endpoint, or the provider named in `detail` (LinkedIn, WhatsApp, Google, IMAP…), is not offered.",
  },
  service_unavailable: {
    status: 503,
    title: "Service Unavailable",
    fix: "Mailroom cannot reach its database or Microsoft right now. Check `GET /ready` and the server log; retry after `Retry-After`.",
  },
  request_timeout: {
    status: 504,
    title: "Gateway Timeout",
    fix: "Microsoft did not answer in time. Retry the request.",
  },
} as const satisfies Record<string, { status: number; title: string; fix: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  detail?: string;
  cause?: unknown;
  /** Whether the same request may succeed if retried unchanged. */
  retryable?: boolean;
  /** Seconds, sent as `Retry-After`. */
  retryAfterSeconds?: number;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(
      options.detail ?? ERROR_CODES[code].title,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = "AppError";
    this.code = code;
    this.detail = options.detail;
    this.retryable = options.retryable ?? (ERROR_CODES[code].status >= 500 || code === "too_many_requests");
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** Unipile's error body (RFC 7807-like). */
  toBody(instance?: string): {
    status: number;
    type: string;
    title: string;
    detail?: string;
    instance?: string;
  } {
    const body: { status: number; type: string; title: string; detail?: string; instance?: string } = {
      status: this.status,
      type: `errors/${this.code}`,
      title: ERROR_CODES[this.code].title,
    };
    if (this.detail !== undefined) body.detail = this.detail;
    if (instance !== undefined) body.instance = instance;
    return body;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
