// What makes two requests "the same request" for an Idempotency-Key (IETF draft "The Idempotency-Key
// HTTP Header Field" §2.4; Stripe compares parameters): the method, the route and the body in a
// canonical form — object keys sorted, attachment bytes hashed — so a JSON body and a multipart body
// with the same fields, or the same fields in another order, have the same fingerprint. Pure.
import { createHash } from "node:crypto";

/** The longest `Idempotency-Key` accepted (Stripe's limit). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export function requestFingerprint(method: string, route: string, body: unknown): string {
  return createHash("sha256")
    .update(`${method.toUpperCase()} ${route}\n`)
    .update(canonicalJson(body))
    .digest("base64url");
}

/** JSON with sorted keys; Buffers become the SHA-256 of their bytes; undefined members are left out. */
export function canonicalJson(value: unknown): string {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array)
    return JSON.stringify({ sha256: createHash("sha256").update(value).digest("hex") });
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** Whose keys a request's are: the SHA-256 of its API key (never the key itself). */
export function idempotencyScope(apiKey: string): string {
  return createHash("sha256").update(`idempotency-scope:${apiKey.trim()}`).digest("base64url");
}
