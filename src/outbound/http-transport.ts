// How a callback POST (webhook delivery, notify_url) leaves Mailroom. An interface (tests and future
// transports can swap it) and the real implementation over node:http(s), which — unlike fetch — lets the DNS answer be checked at
// connect time: the address checked is the address connected to, so DNS rebinding cannot slip past.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { refusalMessage, refusedAddress } from "./address-policy.ts";
import { checkUrl } from "./url.ts";

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  /** The start of the response body (at most RESPONSE_EXCERPT_BYTES, decoded as UTF-8). */
  bodyExcerpt?: string;
}

/** Bytes of a receiver's answer kept for the delivery log; the rest is discarded unread. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** How long to wait for those bytes once the status is in (a slow body never holds a delivery up). */
const EXCERPT_WAIT_MS = 2_000;

export type OutboundFailure = "refused_address" | "timeout" | "network" | "invalid_url";

/** A POST that got no HTTP answer; `retryable` is false when trying again cannot help. */
export class OutboundTransportError extends Error {
  constructor(
    readonly reason: OutboundFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "OutboundTransportError";
  }

  get retryable(): boolean {
    return this.reason === "timeout" || this.reason === "network";
  }
}

export interface OutboundTransport {
  /** Resolves with the status of any HTTP answer (redirects are answers, never followed). */
  post(request: OutboundRequest): Promise<OutboundResponse>;
}

/** node:dns `lookup` (callback style); tests inject one that answers for their own names. */
export type DnsLookup = typeof dnsLookup;

export interface HttpTransportOptions {
  /** Allow loopback, private, link-local and metadata addresses (WEBHOOK_ALLOW_PRIVATE_ADDRESSES). */
  allowPrivateAddresses: boolean;
  /** DNS resolution; default node:dns lookup. */
  lookup?: DnsLookup | undefined;
}

class RefusedAddress extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(refusalMessage(host, address));
  }
}

/** Idle keep-alive sockets are closed after this (below Node's default server keepAliveTimeout, 5 s). */
const IDLE_SOCKET_MS = 4_000;
/** Connections kept per endpoint (host and port); more requests wait for one. */
const SOCKETS_PER_ENDPOINT = 16;

export class HttpOutboundTransport implements OutboundTransport {
  private readonly lookup: LookupFunction;
  // Keep-alive pools. Every new connection goes through `lookup` (set on the agents and on each
  // request), so every address connected to is checked after DNS; a reused socket is one that was
  // checked when it connected, so reuse opens no DNS-rebinding window.
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: HttpTransportOptions) {
    const resolve = options.lookup ?? dnsLookup;
    this.lookup = (hostname, lookupOptions, callback) => {
      resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
        if (error) return callback(error, "", 4);
        const list = addresses as unknown as LookupAddress[];
        const refused = refusedAddress(
          list.map((a) => a.address),
          options.allowPrivateAddresses,
        );
        if (refused) return callback(new RefusedAddress(hostname, refused), "", 4);
        if (list.length === 0) return callback(new Error(`${hostname} has no address`), "", 4);
        if (lookupOptions.all)
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        const first = list[0]!;
        return callback(null, first.address, first.family);
      });
    };
    const agentOptions = {
      keepAlive: true,
      maxSockets: SOCKETS_PER_ENDPOINT,
      maxFreeSockets: SOCKETS_PER_ENDPOINT,
      timeout: IDLE_SOCKET_MS,
      lookup: this.lookup,
    };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  /** Closes the pooled connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  async post(request: OutboundRequest): Promise<OutboundResponse> {
    try {
      return await this.send(request, false);
    } catch (error) {
      // A pooled socket the receiver closed while it was idle fails at once, before any answer: send
      // again on a new (checked) connection. At-least-once delivery allows the rare duplicate.
      if (error instanceof StaleSocket) return this.send(request, true);
      throw error;
    }
  }

  private send(request: OutboundRequest, fresh: boolean): Promise<OutboundResponse> {
    const checked = checkUrl(request.url);
    if (!checked.ok)
      return Promise.reject(new OutboundTransportError("invalid_url", `invalid URL: ${checked.reason}`));
    const url = checked.url;
    // Literal addresses skip DNS (and so the lookup hook): check them here.
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) && refusedAddress([host], this.options.allowPrivateAddresses)) {
      return Promise.reject(new OutboundTransportError("refused_address", refusalMessage(host, host)));
    }
    const client = url.protocol === "https:" ? https : http;
    const agent = fresh ? false : url.protocol === "https:" ? this.httpsAgent : this.httpAgent;
    return new Promise<OutboundResponse>((resolve, reject) => {
      const fail = (error: unknown) => {
        const code = (error as NodeJS.ErrnoException | undefined)?.code;
        if (
          !fresh &&
          req.reusedSocket &&
          !request.signal?.aborted &&
          (code === "ECONNRESET" || code === "EPIPE")
        )
          return reject(new StaleSocket(error));
        if (error instanceof OutboundTransportError) return reject(error);
        if (error instanceof RefusedAddress)
          return reject(new OutboundTransportError("refused_address", error.message));
        const message = error instanceof Error ? error.message : String(error);
        reject(new OutboundTransportError("network", message, { cause: error }));
      };
      const req = client.request(
        url,
        {
          method: "POST",
          headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
          lookup: this.lookup,
          agent,
          ...(request.signal ? { signal: request.signal } : {}),
        },
        (res) => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          let done = false;
          const finish = () => {
            if (done) return;
            done = true;
            clearTimeout(wait);
            const excerpt = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString("utf8");
            // Stop reading: the delivery's outcome is the status; the excerpt is for people.
            if (!res.complete) res.destroy();
            resolve({ status, bodyExcerpt: excerpt.replace(/\uFFFD$/, "") });
          };
          const wait = setTimeout(finish, EXCERPT_WAIT_MS);
          res.on("data", (chunk: Buffer) => {
            if (size < RESPONSE_EXCERPT_BYTES) chunks.push(chunk);
            size += chunk.length;
            if (size >= RESPONSE_EXCERPT_BYTES) finish();
          });
          res.on("end", finish);
          res.on("error", finish);
          res.on("close", finish);
        },
      );
      const timer = setTimeout(() => {
        req.destroy(
          new OutboundTransportError("timeout", `no answer within ${Math.round(request.timeoutMs / 1000)} s`),
        );
      }, request.timeoutMs);
      req.on("error", (error) => {
        clearTimeout(timer);
        fail(error);
      });
      req.end(request.body);
    });
  }
}

class StaleSocket extends Error {
  constructor(cause: unknown) {
    super("a pooled connection was closed by the receiver", { cause });
  }
}
