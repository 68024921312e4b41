// The signature on every callback Mailroom sends (webhooks and notify_url), so receivers can trust it.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Mailroom-Signature";

function mac(secret: string, body: string, unixSeconds: number): string {
  return createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, plus a second `v1=` with the
 * previous secret while a rotation's grace period runs, so receivers holding either secret verify it.
 */
export function signatureHeader(
  body: string,
  unixSeconds: number,
  secret: string,
  previousSecret?: string | undefined,
): string {
  const header = `t=${unixSeconds},v1=${mac(secret, body, unixSeconds)}`;
  return previousSecret ? `${header},v1=${mac(previousSecret, body, unixSeconds)}` : header;
}

/**
 * For receivers (and tests): checks the signature and that it is recent. A header may carry several
 * `v1=` values (during a rotation): any one may match.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = header.split(",").map((p) => p.split("=", 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === "t")?.[1]);
  const macs = parts.filter(([k, v]) => k === "v1" && v).map(([, v]) => v as string);
  if (!Number.isFinite(t) || Math.abs(nowSeconds - t) > toleranceSeconds || macs.length === 0) return false;
  const expected = Buffer.from(mac(secret, body, t), "hex");
  return macs.some((given) => {
    const bytes = Buffer.from(given, "hex");
    return expected.length === bytes.length && timingSafeEqual(expected, bytes);
  });
}
