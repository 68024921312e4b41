// Machine prefetches (docs/adr/0009-email-tracking.md): image proxies that fetch the pixel when the
// mail is delivered, security gateways and link scanners that follow every link within seconds of
// delivery, scripts. Their events are kept and flagged (`is_prefetch`, `prefetch_reason`), never
// dropped: the receiver decides. Pure, and table-tested.

export type PrefetchReason =
  | "no_user_agent"
  | "image_proxy"
  | "security_scanner"
  | "automated_client"
  | "soon_after_send"
  | "click_burst";

export interface PrefetchInput {
  kind: "open" | "click";
  userAgent: string | undefined;
  /** When the request arrived, and when the mail was sent (ms). */
  at: number;
  sentAt: number;
  /** The send's previous click, if any (ms). */
  previousClickAt: number | null;
}

export interface PrefetchVerdict {
  isPrefetch: boolean;
  reason?: PrefetchReason;
}

/** An open this soon after the send is a fetch at delivery (Apple Mail Privacy Protection, gateways). */
export const OPEN_AFTER_SEND_MS = 2_000;
/** A click this soon after the send is a scanner that follows every link on delivery. */
export const CLICK_AFTER_SEND_MS = 10_000;
/** Clicks closer than this to the previous click of the same mail: a scanner walking the links. */
export const CLICK_BURST_MS = 1_000;

/**
 * Fetchers that stand between the mail and its reader. Gmail's and Yahoo's proxies fetch when the
 * mail is opened (so the open is real, but the address and agent are the proxy's); Apple Mail
 * Privacy Protection fetches every image at delivery with the bare agent `Mozilla/5.0`.
 */
const IMAGE_PROXY = /GoogleImageProxy|ggpht\.com|YahooMailProxy|ImageProxy|^Mozilla\/5\.0$/i;
const SECURITY_SCANNER =
  /BingPreview|Barracuda|Mimecast|Proofpoint|MessageLabs|Symantec|IronPort|Cisco|Forcepoint|FireEye|Trend ?Micro|Sophos|Zscaler|Trustwave|SafeLinks|Vade|Cloudmark/i;
const AUTOMATED =
  /\bbot\b|bot\/|crawler|spider|python-requests|python-urllib|aiohttp|curl\/|wget|Go-http-client|Java\/|okhttp|HeadlessChrome|PhantomJS|libwww|axios|node-fetch|undici|httpclient/i;

export function classifyPrefetch(input: PrefetchInput): PrefetchVerdict {
  const agent = (input.userAgent ?? "").trim();
  if (agent === "") return { isPrefetch: true, reason: "no_user_agent" };
  if (IMAGE_PROXY.test(agent)) return { isPrefetch: true, reason: "image_proxy" };
  if (SECURITY_SCANNER.test(agent)) return { isPrefetch: true, reason: "security_scanner" };
  if (AUTOMATED.test(agent)) return { isPrefetch: true, reason: "automated_client" };
  const sinceSend = input.at - input.sentAt;
  if (sinceSend < (input.kind === "open" ? OPEN_AFTER_SEND_MS : CLICK_AFTER_SEND_MS))
    return { isPrefetch: true, reason: "soon_after_send" };
  if (
    input.kind === "click" &&
    input.previousClickAt !== null &&
    Math.abs(input.at - input.previousClickAt) < CLICK_BURST_MS
  )
    return { isPrefetch: true, reason: "click_burst" };
  return { isPrefetch: false };
}
