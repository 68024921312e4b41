// How the Graph client's requests reach Microsoft. `httpTransport` speaks HTTP/1.1 through node:http(s)
// with keep-alive sockets: every API read and every delta poll is one such request, and WHATWG `fetch`
// spent about a quarter of a poll's CPU on its streams, headers and response objects. `fetchTransport`
// wraps a `fetch` (tests inject one to count or fault calls). Neither follows redirects: Graph's mail
// API answers in place, and the access token must not follow a redirect to another host.
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";

export interface TransportRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface TransportAnswer {
  status: number;
  /** A response header by its lower-case name, or null. */
  header(name: string): string | null;
  bytes: Buffer;
}

/** Rejects with an error named "TimeoutError" when no whole answer came within `timeoutMs`. */
export type GraphTransport = (url: string, request: TransportRequest) => Promise<TransportAnswer>;

export function fetchTransport(fetchImpl: typeof fetch): GraphTransport {
  return async (url, request) => {
    const response = await fetchImpl(url, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      redirect: "manual",
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    return { status: response.status, header: (name) => response.headers.get(name), bytes };
  };
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
      if (request.body !== undefined) headers["content-length"] = Buffer.byteLength(request.body);
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
      call.on("error", fail);
      call.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", fail);
        response.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: response.statusCode ?? 0,
            header: (name) => {
              const value = response.headers[name];
              return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
            },
            bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          });
        });
      });
      call.end(request.body);
    });
}

/** A GET whose body is read as it arrives (graph-stream.ts). */
export interface StreamAnswer {
  status: number;
  header(name: string): string | null;
  body: Readable;
}

/** Rejects when no response headers came before `signal` aborted; the body then flows until it ends. */
export type GraphStreamTransport = (
  url: string,
  request: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<StreamAnswer>;

export function fetchStreamTransport(fetchImpl: typeof fetch): GraphStreamTransport {
  return async (url, request) => {
    const response = await fetchImpl(url, {
      headers: request.headers,
      redirect: "manual",
      signal: request.signal,
    });
    const body = response.body ? Readable.fromWeb(response.body as ReadableStream) : Readable.from([]);
    return { status: response.status, header: (name) => response.headers.get(name), body };
  };
}

/** node:http(s) with keep-alive sockets: the response is the body stream, no web-stream layer. */
export function httpStreamTransport(): GraphStreamTransport {
  const agents = {
    "http:": new http.Agent({ keepAlive: true, scheduling: "lifo" }),
    "https:": new https.Agent({ keepAlive: true, scheduling: "lifo" }),
  };
  return (url, request) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === "https:";
      const call = (secure ? https : http).request(target, {
        method: "GET",
        headers: request.headers,
        agent: secure ? agents["https:"] : agents["http:"],
        signal: request.signal,
      });
      call.on("error", reject);
      call.on("response", (response) =>
        resolve({
          status: response.statusCode ?? 0,
          header: (name) => {
            const value = response.headers[name];
            return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
          },
          body: response,
        }),
      );
      call.end();
    });
}
