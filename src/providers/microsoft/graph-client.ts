// Microsoft Graph client for mail (reference §3, §5). Every call: the account's access token, `Prefer:
// IdType="ImmutableId"` (ids survive moves, §3.7), a per-call timeout, the per-mailbox limiter (4
// concurrent, §5; per process or shared through Redis), Retry-After/backoff on 429/503/504 within a
// bounded budget, and one forced token refresh on 401 InvalidAuthenticationToken. Failures leave as
// AppError (graph-errors.ts).
import { randomUUID } from "node:crypto";
import { finished, type Readable } from "node:stream";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { GraphCallError, graphErrorCode, parseRetryAfter, translateGraphError } from "./graph-errors.ts";
import {
  type BatchResult,
  type BatchStep,
  changesMailbox,
  type GraphMethod,
  type GraphRequest,
  inMailbox,
  lowerKeys,
  parseBody,
  preferHeader,
  relativeUrl,
} from "./graph-request.ts";
import { fetchTransport, type GraphTransport } from "./graph-transport.ts";
import type { MailboxLimiter } from "./limiter.ts";
import { putChunk } from "./upload-session.ts";

/**
 * The token side the Graph client needs (implemented by the token manager): the access token, and the
 * root of the account's mailbox (`/me`, or `/users/{address}` for a shared mailbox; graph-request.ts).
 */
export interface AccessTokens {
  getMailboxAccess(
    accountId: string,
    options?: { forceRefresh?: boolean },
  ): Promise<{ token: string; root: string }>;
}

export interface GraphClientOptions {
  /** e.g. https://graph.microsoft.com (no /v1.0). */
  baseUrl: string;
  /** Graph calls and attachment upload sessions when no `transport` is given. */
  fetch: typeof fetch;
  /** How Graph calls are sent (graph-transport.ts). Default: through `fetch`. */
  transport?: GraphTransport;
  tokens: AccessTokens;
  /** Slots per mailbox (4, §5): in-process (KeyedLimiter) or shared by every process (Redis). */
  limiter: MailboxLimiter;
  /** Told after every call that may have changed the account's mailbox (see `call`). */
  onMailboxWrite?: (accountId: string) => Promise<void>;
  log?: Logger;
  timeoutMs?: number;
  /** Retries after a 429/503/504 or a network failure (not counting the first attempt). */
  maxRetries?: number;
  /** Total time a call may spend waiting between attempts. */
  retryBudgetMs?: number;
  /** First backoff step when Microsoft sends no Retry-After; doubled per attempt, jittered. */
  baseBackoffMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Answer {
  status: number;
  header(name: string): string | null;
  bytes: Buffer;
  stream?: Readable;
}

/** A streamed answer: its headers, and its body to be read (or destroyed) by the caller. */
export interface StreamedAnswer {
  header(name: string): string | null;
  body: Readable;
}

const RETRYABLE = new Set([429, 503, 504]);
const MAX_BATCH = 20;

export class GraphClient {
  private readonly timeoutMs: number;
  private readonly transport: GraphTransport;
  private readonly maxRetries: number;
  private readonly retryBudgetMs: number;
  private readonly baseBackoffMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: GraphClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.transport = options.transport ?? fetchTransport(options.fetch);
    this.maxRetries = options.maxRetries ?? 3;
    this.retryBudgetMs = options.retryBudgetMs ?? 30_000;
    this.baseBackoffMs = options.baseBackoffMs ?? 500;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** A JSON call; resolves to the parsed body (undefined for 202/204). */
  async json<T>(accountId: string, request: GraphRequest): Promise<T> {
    const answer = await this.call(accountId, request);
    if (answer.bytes.length === 0) return undefined as T;
    return JSON.parse(answer.bytes.toString("utf8")) as T;
  }

  /**
   * Waits for one of the mailbox's slots and gives it back at once: an API read answered without a
   * request to Microsoft still queues behind the mailbox's calls in flight, like every call.
   */
  async passLimiter(accountId: string): Promise<void> {
    const release = await this.options.limiter.acquire(accountId, 1);
    release();
  }

  /**
   * A GET whose body is handed over unread (attachment `$value`): the mailbox slot is held until the
   * body ends or is destroyed, and `signal` (the client going away) cancels the request.
   */
  async stream(accountId: string, request: GraphRequest, signal?: AbortSignal): Promise<StreamedAnswer> {
    const answer = await this.call(accountId, request, 1, { signal });
    const body = answer.stream;
    if (!body) throw new AppError("provider_error", { detail: "Microsoft Graph sent no body." });
    return { header: answer.header, body };
  }

  /** One `PUT` of an attachment upload session (upload-session.ts), in the mailbox's limiter slot. */
  uploadChunk(
    accountId: string,
    uploadUrl: string,
    chunk: Uint8Array,
    range: { start: number; total: number },
  ): Promise<{ status: number; nextExpectedRanges: string[] }> {
    const via = { limiter: this.options.limiter, transport: this.transport, timeoutMs: this.timeoutMs };
    return putChunk(via, accountId, uploadUrl, chunk, range);
  }

  /**
   * JSON batching (reference §3.9): up to 20 steps per `$batch`, split as needed. Throttled steps
   * (429/503/504 inside the batch) are retried like single calls; other failures are returned as
   * they are, for the caller to translate with `stepError`.
   */
  async batch(accountId: string, steps: BatchStep[]): Promise<Map<string, BatchResult>> {
    const results = new Map<string, BatchResult>();
    const chunks: BatchStep[][] = [];
    for (let i = 0; i < steps.length; i += MAX_BATCH) chunks.push(steps.slice(i, i + MAX_BATCH));
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending = chunk;
        const started = this.now();
        for (let attempt = 0; pending.length > 0; attempt++) {
          // One read of the account per attempt: the token read for the steps' paths sends them.
          const access = await this.options.tokens.getMailboxAccess(accountId);
          const { root } = access;
          const body = {
            requests: pending.map((step) => {
              const headers: Record<string, string> = { prefer: preferHeader(step.bodyType) };
              if (step.body !== undefined) headers["content-type"] = "application/json";
              return {
                id: step.id,
                method: step.method ?? "GET",
                url: relativeUrl({ ...step, path: inMailbox(root, step.path) }),
                headers,
                ...(step.body !== undefined ? { body: step.body } : {}),
              };
            }),
          };
          // Outlook runs at most 4 steps of a batch at once: the batch weighs that many slots.
          const answer = await this.call(
            accountId,
            { method: "POST", path: "/$batch", body },
            Math.min(pending.length, 4),
            undefined,
            access,
          );
          const parsed = JSON.parse(answer.bytes.toString("utf8")) as { responses?: BatchResult[] };
          const retry: BatchStep[] = [];
          let waitMs = 0;
          for (const response of parsed.responses ?? []) {
            const step = pending.find((candidate) => candidate.id === response.id);
            if (!step) continue;
            const headers = lowerKeys(response.headers ?? {});
            if (RETRYABLE.has(response.status) && attempt < this.maxRetries) {
              retry.push(step);
              const after = parseRetryAfter(headers["retry-after"] ?? null, this.now());
              waitMs = Math.max(waitMs, after !== undefined ? after * 1000 : this.backoffMs(attempt));
              continue;
            }
            results.set(step.id, { id: step.id, status: response.status, headers, body: response.body });
          }
          if (retry.length === 0 || this.now() - started + waitMs > this.retryBudgetMs) {
            for (const step of retry)
              results.set(step.id, { id: step.id, status: 429, headers: {}, body: undefined });
            break;
          }
          await this.sleep(waitMs);
          pending = retry;
        }
      }),
    );
    return results;
  }

  private backoffMs(attempt: number): number {
    const ceiling = this.baseBackoffMs * 2 ** attempt;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /**
   * A call that may change the mailbox (anything but reads and subscriptions) is announced once it has
   * ended, before its caller sees the answer, so a read that follows it, in any process, does not take
   * a page cached before it: when it succeeded, and when its outcome is unknown (a timeout, a 5xx,
   * no answer: the write may still have happened); not when Microsoft refused it (a 4xx).
   */
  private async call(
    accountId: string,
    request: GraphRequest,
    weight = 1,
    streaming?: { signal: AbortSignal | undefined },
    /** The account's access, when the caller has just read it (a `$batch` names the mailbox's root). */
    given?: { token: string; root: string },
  ): Promise<Answer> {
    const announce = this.options.onMailboxWrite;
    if (!announce || !changesMailbox(request))
      return this.attempts(accountId, request, weight, streaming, given);
    const announced = () =>
      announce(accountId).catch((error: unknown) =>
        this.options.log?.warn({ accountId, err: error }, "Could not record a change to the mailbox"),
      );
    let answer: Answer;
    try {
      answer = await this.attempts(accountId, request, weight, streaming, given);
    } catch (error) {
      if (!(error instanceof AppError && error.status < 500)) await announced();
      throw error;
    }
    await announced();
    return answer;
  }

  private async attempts(
    accountId: string,
    request: GraphRequest,
    weight: number,
    streaming: { signal: AbortSignal | undefined } | undefined,
    given: { token: string; root: string } | undefined,
  ): Promise<Answer> {
    const base = `${this.options.baseUrl.replace(/\/+$/, "")}/v1.0`;
    const access = given ?? (await this.options.tokens.getMailboxAccess(accountId));
    // `@odata.nextLink`s are absolute; only ones on the configured Graph origin are followed (the
    // access token must not go anywhere else).
    const url = /^https?:\/\//.test(request.path)
      ? request.path
      : `${base}${relativeUrl({ ...request, path: inMailbox(access.root, request.path) })}`;
    if (!url.startsWith(`${base}/`))
      throw new AppError("provider_error", { detail: "Microsoft Graph returned a link to another host." });
    const method = request.method ?? "GET";
    const started = this.now();
    let token = access.token;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      let answer: Answer | undefined;
      let failure: unknown;
      try {
        answer = await this.sendHolding(accountId, weight, () =>
          this.send(url, method, token, request, streaming),
        );
      } catch (error) {
        if ((error as Error)?.name === "TimeoutError") {
          throw new AppError("request_timeout", {
            detail: `Microsoft Graph did not answer within ${Math.round(this.timeoutMs / 1000)} s.`,
            cause: error,
          });
        }
        failure = error;
      }

      if (answer && answer.status < 400) return answer;
      const status = answer?.status ?? 503;
      const body = answer ? parseBody(answer) : undefined;
      const code = graphErrorCode(body);
      const requestId = answer?.header("request-id") ?? undefined;

      if (status === 401 && code === "InvalidAuthenticationToken" && !refreshed) {
        refreshed = true;
        token = (await this.options.tokens.getMailboxAccess(accountId, { forceRefresh: true })).token;
        attempt--;
        continue;
      }
      if (RETRYABLE.has(status)) {
        const retryAfter = answer ? parseRetryAfter(answer.header("retry-after"), this.now()) : undefined;
        const waitMs = retryAfter !== undefined ? retryAfter * 1000 : this.backoffMs(attempt);
        if (attempt < this.maxRetries && this.now() - started + waitMs <= this.retryBudgetMs) {
          this.options.log?.debug(
            { accountId, status, code, requestId, waitMs, attempt },
            "Graph call throttled or unavailable; retrying",
          );
          await this.sleep(waitMs);
          continue;
        }
        this.options.log?.warn(
          { accountId, status, code, requestId, attempts: attempt + 1 },
          "Graph call still failing after retries",
        );
        if (!answer) {
          throw new AppError("service_unavailable", {
            detail: "Microsoft Graph could not be reached.",
            retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
            cause: failure,
          });
        }
        throw translateGraphError(status, body, {
          requestId,
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
        });
      }
      if (status >= 500)
        this.options.log?.warn({ accountId, status, code, requestId, body }, "Graph call failed");
      throw translateGraphError(status, body, { requestId });
    }
  }

  /** Holds the mailbox's slots while the request is in flight: for a streamed body, until it ends. */
  private async sendHolding(accountId: string, weight: number, send: () => Promise<Answer>) {
    const release = await this.options.limiter.acquire(accountId, weight);
    let answer: Answer | undefined;
    try {
      answer = await send();
      return answer;
    } finally {
      if (answer?.stream) finished(answer.stream, () => release());
      else release();
    }
  }

  private async send(
    url: string,
    method: GraphMethod,
    token: string,
    request: GraphRequest,
    streaming?: { signal: AbortSignal | undefined },
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      prefer: preferHeader(request.bodyType),
      "client-request-id": randomUUID(),
      accept: "application/json",
    };
    let body: string | undefined;
    if (request.mime !== undefined) {
      headers["content-type"] = "text/plain";
      body = request.mime;
    } else if (request.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(request.body);
    }
    // The body is read while the slot is held: the request is in flight at Microsoft until then.
    return this.transport(url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      timeoutMs: this.timeoutMs,
      ...(streaming ? { stream: true, ...(streaming.signal ? { signal: streaming.signal } : {}) } : {}),
    });
  }
}

/** Translates a failed batch step like a single call's failure. */
export function stepError(result: BatchResult): AppError {
  return translateGraphError(result.status, result.body, {
    requestId: result.headers["request-id"],
    retryAfterSeconds: 1,
  });
}

export type { BatchResult, BatchStep, GraphMethod, GraphRequest };
export { changesMailbox, GraphCallError };
