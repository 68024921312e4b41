// Types shared by the login host's handlers: the transport-neutral request and result (routes.ts
// adapts them to Fastify), and the three shapes an AADSTS error takes: Microsoft's error page, a
// redirect to the app, and the token endpoint's JSON (reference §1.3, §1.9).
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { SandboxState } from "../state.ts";
import {
  type AadstsError,
  countError,
  describe,
  errorContext,
  errorUri,
  tokenErrorBody,
  tokenErrorStatus,
} from "./errors.ts";
import { errorPage, formPostPage } from "./pages.ts";
import type { IdentityRuntime, SignInTransaction } from "./runtime.ts";

export const SESSION_COOKIE = "ESTSAUTH";
export const CODE_LIFETIME_MS = 10 * 60 * 1000;
export const TRANSACTION_LIFETIME_MS = 60 * 60 * 1000;

export type Params = Record<string, unknown>;

/** What the login host's handlers need of an HTTP request. */
export interface IdentityRequest {
  /** The `{tenant}` path segment as sent. */
  tenant: string;
  query: Params;
  /** The form body (urlencoded), when there is one. */
  body: Params | undefined;
  cookie: string | undefined;
  authorization: string | undefined;
  /** `client-request-id` from the query or header: echoed as the correlation id of errors. */
  correlationId: string | undefined;
}

export type IdentityResult = (
  | { kind: "html"; status: number; html: string }
  | { kind: "redirect"; location: string; noStore: boolean }
  | { kind: "json"; status: number; headers: Record<string, string>; body: unknown }
) & { setCookie?: string | undefined };

/** The login host's state: the shared sandbox model and the identity-only runtime. */
export interface IdentityEnv {
  state: SandboxState;
  runtime: IdentityRuntime;
}

export function str(params: Params | undefined, name: string): string | undefined {
  const value = params?.[name];
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return out;
}

export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function baseUrl(env: IdentityEnv): string {
  return env.state.options.baseUrl;
}

export function html(body: string, status = 200): IdentityResult {
  return { kind: "html", status, html: body };
}

/** Adds the session cookie a handler set on the way (sign-in) to its result. */
export function withCookie(result: IdentityResult, cookie: string | undefined): IdentityResult {
  return cookie ? { ...result, setCookie: cookie } : result;
}

/** "Sorry, but we're having trouble signing you in": errors that cannot go back to the app. */
export function errorPageResult(
  env: IdentityEnv,
  req: Pick<IdentityRequest, "correlationId">,
  err: AadstsError,
  appName?: string,
): IdentityResult {
  countError(env.state, err);
  const ctx = errorContext(env.state, req.correlationId);
  return html(
    errorPage({
      code: err.code,
      message: err.message,
      requestId: ctx.traceId,
      correlationId: ctx.correlationId,
      timestamp: ctx.timestamp,
      appName,
    }),
  );
}

export type AppTarget = Pick<SignInTransaction, "redirectUri" | "responseMode">;

export function redirectToApp(target: AppTarget, fields: Record<string, string>): IdentityResult {
  if (target.responseMode === "form_post") return html(formPostPage(target.redirectUri, fields));
  const encoded = new URLSearchParams(fields).toString();
  const sep = target.responseMode === "fragment" ? "#" : target.redirectUri.includes("?") ? "&" : "?";
  return { kind: "redirect", location: `${target.redirectUri}${sep}${encoded}`, noStore: true };
}

export function redirectError(
  env: IdentityEnv,
  req: Pick<IdentityRequest, "correlationId">,
  target: AppTarget & Pick<SignInTransaction, "state">,
  err: AadstsError,
  extra: Record<string, string> = {},
): IdentityResult {
  countError(env.state, err);
  const ctx = errorContext(env.state, req.correlationId);
  const fields: Record<string, string> = {
    ...extra,
    error: err.error,
    error_description: describe(err, ctx),
    error_uri: errorUri(env.state, err.code),
  };
  if (target.state !== undefined) fields.state = target.state;
  return redirectToApp(target, fields);
}

function tokenHeaders(): Record<string, string> {
  return {
    "cache-control": "no-store, no-cache",
    pragma: "no-cache",
    "content-type": "application/json; charset=utf-8",
    "x-ms-request-id": randomUUID(),
    "x-ms-ests-server": "2.1.sandbox - SDX ProdSlices",
  };
}

export function tokenJson(body: Record<string, unknown>): IdentityResult {
  return { kind: "json", status: 200, headers: tokenHeaders(), body };
}

/** The token endpoint's error JSON (also used by discovery for an unknown tenant). */
export function tokenErrorResult(
  env: IdentityEnv,
  req: Pick<IdentityRequest, "correlationId">,
  err: AadstsError,
): IdentityResult {
  countError(env.state, err);
  const ctx = errorContext(env.state, req.correlationId);
  return {
    kind: "json",
    status: tokenErrorStatus(err),
    headers: tokenHeaders(),
    body: tokenErrorBody(env.state, err, ctx),
  };
}
