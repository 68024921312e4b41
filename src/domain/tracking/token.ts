// Signed tracking tokens (docs/adr/0009-email-tracking.md): what a pixel or a tracked link stands for,
// readable by Mailroom alone. A token is `base64url(payload).base64url(mac)`, where the MAC is the
// first 16 bytes of HMAC-SHA256 under the tracking key; the payload names the version, the kind, the
// send's tracking id and, for a link, its target. A click answers a redirect only to a target whose
// MAC checks, so Mailroom is never an open redirector. No I/O here.
import { timingSafeEqual } from "node:crypto";
import { hmacSha256 } from "../../lib/hmac.ts";

export type TrackedTarget =
  | { kind: "open"; trackingId: string }
  | { kind: "click"; trackingId: string; url: string };

const VERSION = "1";
const DOMAIN = Buffer.from("mailroom-tracking|");
const MAC_BYTES = 16;
/** Longer tokens are refused unread (a link's target is part of its token). */
export const MAX_TOKEN_LENGTH = 8192;
const TRACKING_ID = /^[A-Za-z0-9_-]{8,64}$/;
/**
 * Verdicts kept for recently seen tokens, valid and invalid alike: a mail client, a proxy or a flood
 * asks for the same URL again and again, and a remembered verdict skips the HMAC. Only short tokens
 * (every pixel, most links) are kept, so the memo stays under a few MB whatever is requested.
 */
const MEMO_ENTRIES = 4096;
const MEMO_MAX_TOKEN_LENGTH = 512;

export class TrackingTokens {
  private readonly memo = new Map<string, TrackedTarget | null>();
  private readonly hmac: (...parts: Buffer[]) => Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new RangeError("The tracking key is at least 32 bytes");
    this.hmac = hmacSha256(key);
  }

  sign(target: TrackedTarget): string {
    const payload = Buffer.from(
      target.kind === "open"
        ? `${VERSION}o${target.trackingId}`
        : `${VERSION}c${target.trackingId}\n${target.url}`,
      "utf8",
    );
    return `${payload.toString("base64url")}.${this.mac(payload).toString("base64url")}`;
  }

  /**
   * The target of a token Mailroom signed; undefined for anything else (forged, altered, truncated).
   * The answer is shared between calls for the same token: read it, do not change it.
   */
  verify(token: string): TrackedTarget | undefined {
    if (token.length > MEMO_MAX_TOKEN_LENGTH) return this.check(token);
    const known = this.memo.get(token);
    if (known !== undefined) return known ?? undefined;
    const target = this.check(token);
    if (this.memo.size >= MEMO_ENTRIES) this.memo.delete(this.memo.keys().next().value as string);
    this.memo.set(token, target ?? null);
    return target;
  }

  private check(token: string): TrackedTarget | undefined {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const dot = token.indexOf(".");
    if (dot <= 0 || dot !== token.lastIndexOf(".")) return undefined;
    const payload = Buffer.from(token.slice(0, dot), "base64url");
    const mac = Buffer.from(token.slice(dot + 1), "base64url");
    // Base64url that does not round-trip was altered (Node's decoder skips characters it does not know).
    if (
      payload.toString("base64url") !== token.slice(0, dot) ||
      mac.toString("base64url") !== token.slice(dot + 1)
    )
      return undefined;
    if (mac.length !== MAC_BYTES || !timingSafeEqual(mac, this.mac(payload))) return undefined;
    const text = payload.toString("utf8");
    if (text[0] !== VERSION) return undefined;
    if (text[1] === "o") {
      const trackingId = text.slice(2);
      return TRACKING_ID.test(trackingId) ? { kind: "open", trackingId } : undefined;
    }
    if (text[1] !== "c") return undefined;
    const newline = text.indexOf("\n");
    const trackingId = text.slice(2, newline);
    const url = text.slice(newline + 1);
    if (newline === -1 || !TRACKING_ID.test(trackingId) || !/^https?:\/\//i.test(url)) return undefined;
    return { kind: "click", trackingId, url };
  }

  private mac(payload: Buffer): Buffer {
    return this.hmac(DOMAIN, payload).subarray(0, MAC_BYTES);
  }
}

/** The pixel's and the links' URLs of one send, under `base` (PUBLIC_URL or `https://{custom_domain}`). */
export function trackingUrls(tokens: TrackingTokens, base: string, trackingId: string) {
  // A mail often links one target several times (a logo, a button and a text link): signed once.
  const links = new Map<string, string>();
  return {
    pixel: () => `${base}/t/o/${tokens.sign({ kind: "open", trackingId })}.gif`,
    link: (url: string) => {
      let tracked = links.get(url);
      if (tracked === undefined) {
        tracked = `${base}/t/c/${tokens.sign({ kind: "click", trackingId, url })}`;
        links.set(url, tracked);
      }
      return tracked;
    },
  };
}
