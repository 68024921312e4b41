// How the Graph client's requests reach Microsoft. `httpTransport` speaks HTTP/1.1 through node:http(s)
// with keep-alive sockets: every API read and every delta poll is one such request, and WHATWG `fetch`
// spent about a quarter of a poll's CPU on its streams, headers and response objects. `fetchTransport`
// wraps a `fetch` (tests inject one to count or fault calls). Neither follows redirects: Graph's mail
// API answers in place, and the access token must not follow a redirect to another host.
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";

export interface TransportRequest {
  method: string;
  headers: Record<string, string>;
  /** JSON text, or an upload session's chunk. */
  body?: string | Uint8Array;
  /** Until the answer's headers (with `stream`: then per idle gap while its body is read). */
  timeoutMs: number;
  /** Hand a 2xx answer's body over unread, as `stream` (attachment downloads). */
  stream?: boolean;
  /** Cancels the request, before or while its body is read. */
  signal?: AbortSignal;
}

export interface TransportAnswer {
  status: number;
  /** A response header by its lower-case name, or null. */
  header(name: string): string | null;
  bytes: Buffer;
  /** With `stream` and a 2xx status: the body, not yet read (`bytes` is empty then). */
  stream?: Readable;
}

/** Rejects with an error named "TimeoutError" when no whole answer came within `timeoutMs`. */
export type GraphTransport = (url: string, request: TransportRequest) => Promise<TransportAnswer>;

export function fetchTransport(fetchImpl: typeof fetch): GraphTransport {
  return async (url, request) => {
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const streamed = new AbortController();
    const signals = [request.stream ? streamed.signal : timeout];
    if (request.signal) signals.push(request.signal);
    const body = request.body;
    const pending = fetchImpl(url, {
      method: request.method,
      headers: request.headers,
      ...(body !== undefined ? { body: body as string | Uint8Array<ArrayBuffer> } : {}),
      redirect: "manual",
      signal: AbortSignal.any(signals),
    });
    // A streamed answer's body may take longer than the timeout: it bounds the wait for headers only.
    const response = request.stream ? await untilTimeout(pending, timeout, streamed) : await pending;
    const header = (name: string) => response.headers.get(name);
    if (request.stream && response.ok && response.body)
      return {
        status: response.status,
        header,
        bytes: Buffer.alloc(0),
        stream: Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
      };
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, header, bytes };
  };
}

function untilTimeout<T>(pending: Promise<T>, timeout: AbortSignal, controller: AbortController): Promise<T> {
  const onTimeout = () => controller.abort(timeout.reason);
  timeout.addEventListener("abort", onTimeout, { once: true });
  return pending.finally(() => timeout.removeEventListener("abort", onTimeout));
}

export function httpTransport(): GraphTransport {
  const agents = {
    "http:": new http.Agent({ keepAlive: true, scheduling: "lifo" }),
    "https:": new https.Agent({ keepAlive: true, scheduling: "lifo" }),
  };
  return (url, request) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const agent = target.protocol === "https:" ? agents["https:"] : agents["http:"];
      const headers: Record<string, string | number> = { ...request.headers };
      const body = request.body;
      if (body !== undefined) headers["content-length"] = Buffer.byteLength(body);
      const call = (target.protocol === "https:" ? https : http).request(target, {
        method: request.method,
        headers,
        agent,
      });
      const timer = setTimeout(() => {
        const error = new Error(`No answer within ${request.timeoutMs} ms`);
        error.name = "TimeoutError";
        call.destroy(error);
      }, request.timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      // Cancelling applies while the exchange is under way: once the answer has been read to its end,
      // its socket is back in the agent's pool (maybe serving another request already). Before the
      // answer the call fails with the signal's reason. The request is destroyed without an error:
      // `destroy(error)` first drains a response already buffered (which ends it and releases its
      // socket) and then destroys that socket with the error, which nobody listens to any more (an
      // uncaught exception). A streamed answer cut short just closes early; its reader sees that.
      let over = false;
      let answered = false;
      const abort = () => {
        if (over) return;
        if (!answered) fail(asError(request.signal?.reason));
        call.destroy();
      };
      const detach = () => {
        over = true;
        request.signal?.removeEventListener("abort", abort);
      };
      if (request.signal?.aborted) abort();
      request.signal?.addEventListener("abort", abort, { once: true });
      call.on("close", detach);
      call.on("error", fail);
      call.on("response", (response) => {
        answered = true;
        response.once("end", detach);
        const status = response.statusCode ?? 0;
        const header = (name: string) => {
          const value = response.headers[name];
          return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
        };
        if (request.stream && status >= 200 && status < 300) {
          clearTimeout(timer);
          // From here the timeout is per idle gap: a large body may take minutes, a stalled one not.
          response.setTimeout(request.timeoutMs, () => {
            const error = new Error(`No data within ${request.timeoutMs} ms`);
            error.name = "TimeoutError";
            response.destroy(error);
          });
          resolve({ status, header, bytes: Buffer.alloc(0), stream: response });
          return;
        }
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", fail);
        response.on("end", () => {
          clearTimeout(timer);
          resolve({
            status,
            header,
            bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          });
        });
      });
      call.end(body);
    });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(reason === undefined ? "aborted" : String(reason));
}
