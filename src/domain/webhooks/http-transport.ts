// How a webhook POST leaves Mailroom. An interface (tests and future transports can swap it) and the
// real implementation over node:http(s), which — unlike fetch — lets the DNS answer be checked at
// connect time: the address checked is the address connected to, so DNS rebinding cannot slip past.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { isPrivateAddress } from "./address-guard.ts";

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface WebhookResponse {
  status: number;
  /** The start of the response body (at most RESPONSE_EXCERPT_BYTES, decoded as UTF-8). */
  bodyExcerpt?: string;
}

/** Bytes of a receiver's answer kept for the delivery log; the rest is discarded unread. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** How long to wait for those bytes once the status is in (a slow body never holds a delivery up). */
const EXCERPT_WAIT_MS = 2_000;

export type WebhookTransportFailure = "refused_address" | "timeout" | "network" | "invalid_url";

/** A POST that got no HTTP answer; `retryable` is false when trying again cannot help. */
export class WebhookTransportError extends Error {
  constructor(
    readonly reason: WebhookTransportFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "WebhookTransportError";
  }

  get retryable(): boolean {
    return this.reason === "timeout" || this.reason === "network";
  }
}

export interface WebhookTransport {
  /** Resolves with the status of any HTTP answer (redirects are answers, never followed). */
  post(request: WebhookRequest): Promise<WebhookResponse>;
}

export interface HttpTransportOptions {
  /** Allow loopback, private, link-local and metadata addresses (WEBHOOK_ALLOW_PRIVATE_ADDRESSES). */
  allowPrivateAddresses: boolean;
  /** DNS resolution; default node:dns lookup. */
  lookup?: typeof dnsLookup;
}

class RefusedAddress extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to ${address}, a private, loopback, link-local or metadata address`);
  }
}

export class HttpWebhookTransport implements WebhookTransport {
  private readonly lookup: LookupFunction;

  constructor(private readonly options: HttpTransportOptions) {
    const resolve = options.lookup ?? dnsLookup;
    this.lookup = (hostname, lookupOptions, callback) => {
      resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
        if (error) return callback(error, "", 4);
        const list = addresses as unknown as LookupAddress[];
        const refused = options.allowPrivateAddresses
          ? undefined
          : list.find((a) => isPrivateAddress(a.address));
        if (refused) return callback(new RefusedAddress(hostname, refused.address), "", 4);
        if (list.length === 0) return callback(new Error(`${hostname} has no address`), "", 4);
        if (lookupOptions.all)
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        const first = list[0]!;
        return callback(null, first.address, first.family);
      });
    };
  }

  post(request: WebhookRequest): Promise<WebhookResponse> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch (error) {
      return Promise.reject(
        new WebhookTransportError("invalid_url", "request_url is not a URL", { cause: error }),
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return Promise.reject(new WebhookTransportError("invalid_url", "request_url is not http(s)"));
    // Literal addresses skip DNS (and so the lookup hook): check them here.
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) && !this.options.allowPrivateAddresses && isPrivateAddress(host)) {
      return Promise.reject(
        new WebhookTransportError("refused_address", new RefusedAddress(host, host).message),
      );
    }
    const client = url.protocol === "https:" ? https : http;
    return new Promise<WebhookResponse>((resolve, reject) => {
      const fail = (error: unknown) => {
        if (error instanceof WebhookTransportError) return reject(error);
        if (error instanceof RefusedAddress)
          return reject(new WebhookTransportError("refused_address", error.message));
        const message = error instanceof Error ? error.message : String(error);
        reject(new WebhookTransportError("network", message, { cause: error }));
      };
      const req = client.request(
        url,
        {
          method: "POST",
          headers: { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) },
          lookup: this.lookup,
          // A fresh connection per delivery: a pooled socket would skip the address check.
          agent: false,
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
          new WebhookTransportError("timeout", `no answer within ${Math.round(request.timeoutMs / 1000)} s`),
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
