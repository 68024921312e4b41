// The one check of a URL Mailroom will call or send a browser to (webhook request_url, hosted-link
// notify_url and redirect URLs). Pure: syntax only; whether the host may be called is destination.ts.
import { isIP } from "node:net";

export const MAX_URL_LENGTH = 2048;
const MAX_HOST_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
// Letters, digits, hyphens inside; underscores are tolerated (service names on private networks).
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * http or https, at most 2048 characters, no user name or password, and a host that DNS could hold:
 * labels of 1 to 63 characters, 253 in all (international names are checked in their ASCII form,
 * as URL parsing gives it), or an IP address.
 */
export function checkUrl(raw: string): UrlCheck {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a URL (expected e.g. https://example.com/hooks/mail)" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return { ok: false, reason: "must be an http:// or https:// URL" };
  if (url.username !== "" || url.password !== "")
    return { ok: false, reason: "must not carry a user name or password; use headers or the signature" };
  if (url.href.length > MAX_URL_LENGTH)
    return { ok: false, reason: `longer than ${MAX_URL_LENGTH} characters once encoded` };
  const host = url.hostname;
  if (host.startsWith("[") || isIP(host)) return { ok: true, url };
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length === 0) return { ok: false, reason: "has no host name" };
  for (const label of name.split(".")) {
    if (label.length > MAX_LABEL_LENGTH)
      return {
        ok: false,
        reason: `host name label ${JSON.stringify(`${label.slice(0, 20)}…`)} is longer than ${MAX_LABEL_LENGTH} characters`,
      };
    if (!LABEL.test(label)) return { ok: false, reason: `host name ${JSON.stringify(host)} is not valid` };
  }
  if (name.length > MAX_HOST_LENGTH)
    return { ok: false, reason: `host name longer than ${MAX_HOST_LENGTH} characters` };
  return { ok: true, url };
}
