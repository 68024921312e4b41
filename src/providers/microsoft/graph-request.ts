// How one Graph request is written: its URL below /v1.0 (the mailbox root, OData options), its
// Prefer header, whether it may change the mailbox, and how an answer's body is read.

export type GraphMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface GraphRequest {
  method?: GraphMethod;
  /** Path under /v1.0, e.g. `/me/messages`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /**
   * A message in MIME format instead of a JSON body: the base64 of the RFC 5322 bytes, sent as
   * `text/plain` (Graph's "create message in MIME format" and "send message in MIME format").
   */
  mime?: string;
  /** `Prefer: outlook.body-content-type` (Graph's default is html). */
  bodyType?: "html" | "text";
}

export interface BatchStep extends GraphRequest {
  id: string;
}

export interface BatchResult {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * The one place that decides where an account's mailbox is in Graph. Mail code writes paths under
 * `/me`; `root` is `/me` for a mailbox that signed in itself and `/users/{address}` for a shared
 * mailbox reached with another user's token (docs/shared-mailboxes.md). Other paths (`/$batch`,
 * `/subscriptions`, an explicit `/users/…`) are left as they are.
 */
export function inMailbox(root: string, path: string): string {
  if (root === "/me") return path;
  if (path === "/me" || path.startsWith("/me/") || path.startsWith("/me?")) return `${root}${path.slice(3)}`;
  return path;
}

export function preferHeader(bodyType: "html" | "text" | undefined): string {
  return bodyType ? `IdType="ImmutableId", outlook.body-content-type="${bodyType}"` : 'IdType="ImmutableId"';
}

export function relativeUrl(request: GraphRequest): string {
  const params: string[] = [];
  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (value === undefined) continue;
    // `$` stays literal (OData system options); values are percent-encoded.
    params.push(`${key}=${encodeURIComponent(String(value))}`);
  }
  return params.length > 0 ? `${request.path}?${params.join("&")}` : request.path;
}

export function parseBody(answer: { bytes: Buffer }): unknown {
  try {
    return JSON.parse(answer.bytes.toString("utf8"));
  } catch {
    return answer.bytes.toString("utf8").slice(0, 2000);
  }
}

export function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Whether a call may change the mailbox: not a read (a GET, or a `$batch` of GETs), not a subscription. */
export function changesMailbox(request: GraphRequest): boolean {
  if ((request.method ?? "GET") === "GET") return false;
  if (request.path === "/subscriptions" || request.path.startsWith("/subscriptions/")) return false;
  if (request.path === "/$batch") {
    const steps = (request.body as { requests?: { method?: string }[] } | undefined)?.requests ?? [];
    return steps.some((step) => (step.method ?? "GET") !== "GET");
  }
  return true;
}
