// A Graph GET whose answer is passed on as a stream (a message's MIME `$value`, an attachment's
// bytes), never held whole in memory. The mailbox limiter slot is taken before the request and
// released only when the body has ended, failed or been destroyed (the request is in flight at
// Microsoft until then, reference §5). Before the body starts, failures are handled as for every
// Graph call: one forced token refresh on 401 InvalidAuthenticationToken, Retry-After/backoff on
// 429/503/504 within the budget, errors translated to AppError. The caller's signal aborts the
// wait for a slot, the request and the body.
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { graphErrorCode, parseRetryAfter, translateGraphError } from "./graph-errors.ts";
import type { GraphStreamTransport, StreamAnswer } from "./graph-transport.ts";
import type { MailboxLimiter } from "./limiter.ts";

export interface GraphStreamRequest {
  /** Path under /v1.0, e.g. `/me/messages/{id}/$value`. */
  path: string;
  /** Aborts the slot wait, the request and the body (e.g. the API client went away). */
  signal?: AbortSignal;
}

export interface GraphStream {
  status: number;
  /** content-type, content-length and request-id, when Graph sent them. */
  headers: Record<string, string>;
  body: Readable;
}

export interface GraphStreamDeps {
  baseUrl: string;
  open: GraphStreamTransport;
  tokens: { getAccessToken(accountId: string, options?: { forceRefresh?: boolean }): Promise<string> };
  limiter: MailboxLimiter;
  log?: Logger | undefined;
  /** Until the response headers arrive; the body then runs as long as it flows. */
  timeoutMs: number;
  maxRetries: number;
  retryBudgetMs: number;
  backoffMs(attempt: number): number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

const RETRYABLE = new Set([429, 503, 504]);
/** An error body is read for its code; more is not needed. */
const MAX_ERROR_BODY = 64 * 1024;

export async function openGraphStream(
  deps: GraphStreamDeps,
  accountId: string,
  request: GraphStreamRequest,
): Promise<GraphStream> {
  const url = `${deps.baseUrl.replace(/\/+$/, "")}/v1.0${request.path}`;
  const started = deps.now();
  let token = await deps.tokens.getAccessToken(accountId);
  let refreshed = false;
  for (let attempt = 0; ; attempt++) {
    const release = await deps.limiter.acquire(accountId, 1, request.signal);
    let response: StreamAnswer;
    const headerTimeout = new AbortController();
    const timer = setTimeout(() => headerTimeout.abort(), deps.timeoutMs);
    try {
      const signals = request.signal ? [request.signal, headerTimeout.signal] : [headerTimeout.signal];
      response = await deps.open(url, {
        headers: {
          authorization: `Bearer ${token}`,
          prefer: 'IdType="ImmutableId"',
          "client-request-id": randomUUID(),
        },
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      release();
      if (request.signal?.aborted) throw request.signal.reason ?? error;
      if (headerTimeout.signal.aborted)
        throw new AppError("request_timeout", {
          detail: `Microsoft Graph did not answer within ${Math.round(deps.timeoutMs / 1000)} s.`,
          cause: error,
        });
      if (attempt < deps.maxRetries && deps.now() - started <= deps.retryBudgetMs) {
        await deps.sleep(deps.backoffMs(attempt));
        continue;
      }
      throw new AppError("service_unavailable", {
        detail: "Microsoft Graph could not be reached.",
        retryAfterSeconds: 1,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }

    if (response.status >= 200 && response.status < 300) {
      const { body } = response;
      // 'close' follows 'end', 'error' and destroy() alike: the slot is held exactly while bytes flow.
      body.once("close", release);
      const onAbort = () => body.destroy(request.signal?.reason);
      request.signal?.addEventListener("abort", onAbort, { once: true });
      body.once("close", () => request.signal?.removeEventListener("abort", onAbort));
      const headers: Record<string, string> = {};
      for (const name of ["content-type", "content-length", "request-id"]) {
        const value = response.header(name);
        if (value !== null) headers[name] = value;
      }
      return { status: response.status, headers, body };
    }

    let text: string;
    try {
      text = await readBounded(response);
    } finally {
      release();
    }
    const status = response.status < 200 ? 502 : response.status;
    const body = parseJson(text);
    const code = graphErrorCode(body);
    const requestId = response.header("request-id") ?? undefined;
    if (status === 401 && code === "InvalidAuthenticationToken" && !refreshed) {
      refreshed = true;
      token = await deps.tokens.getAccessToken(accountId, { forceRefresh: true });
      attempt--;
      continue;
    }
    if (RETRYABLE.has(status)) {
      const retryAfter = parseRetryAfter(response.header("retry-after"), deps.now());
      const waitMs = retryAfter !== undefined ? retryAfter * 1000 : deps.backoffMs(attempt);
      if (attempt < deps.maxRetries && deps.now() - started + waitMs <= deps.retryBudgetMs) {
        await deps.sleep(waitMs);
        continue;
      }
      throw translateGraphError(status, body, {
        requestId,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      });
    }
    if (status >= 500) deps.log?.warn({ accountId, status, code, requestId }, "Graph stream failed");
    throw translateGraphError(status, body, { requestId });
  }
}

async function readBounded(response: StreamAnswer): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    chunks.push(Buffer.from(chunk));
    size += chunk.byteLength;
    if (size >= MAX_ERROR_BODY) break;
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, MAX_ERROR_BODY);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 2000);
  }
}
