// Dashboard sessions: the cookie, the CSRF check on every state change, and the request → admin lookup.
// Cookie: HttpOnly (scripts never see it), SameSite=Lax (not sent on cross-site POSTs), Secure under
// https, Path=/. CSRF: a state change needs the x-mailroom-csrf header (a custom header cross-site pages
// cannot send without a CORS preflight Mailroom never grants), equal to the session's token once signed
// in, and an Origin (when the browser sends one) that is Mailroom's own.
import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { CSRF_HEADER } from "../../../contracts/dashboard/index.ts";
import {
  type AdminService,
  SESSION_ABSOLUTE_MS,
  type SessionContext,
} from "../../../domain/admins/admin.service.ts";
import { AppError } from "../../../lib/errors.ts";

export const SESSION_COOKIE = "mailroom_session";

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function isSecure(request: FastifyRequest, publicUrl: string): boolean {
  return publicUrl.startsWith("https:") || request.protocol === "https";
}

export function setSessionCookie(
  reply: FastifyReply,
  request: FastifyRequest,
  publicUrl: string,
  token: string,
): void {
  const attributes = [
    `${SESSION_COOKIE}=${token}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Max-Age=${Math.floor(SESSION_ABSOLUTE_MS / 1000)}`,
  ];
  if (isSecure(request, publicUrl)) attributes.push("Secure");
  reply.header("set-cookie", attributes.join("; "));
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest, publicUrl: string): void {
  const attributes = [`${SESSION_COOKIE}=`, "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=0"];
  if (isSecure(request, publicUrl)) attributes.push("Secure");
  reply.header("set-cookie", attributes.join("; "));
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function forbidden(detail: string): AppError {
  return new AppError("insufficient_permissions", { detail });
}

/** Rejects a state change that did not come from the dashboard itself. */
export function checkCsrf(
  request: FastifyRequest,
  publicUrl: string,
  context: SessionContext | undefined,
): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    const own = new Set([new URL(publicUrl).origin, `${request.protocol}://${request.host}`]);
    if (!own.has(origin))
      throw forbidden(`Requests from ${origin} are not accepted. Open the dashboard at ${publicUrl}.`);
  } else {
    const site = request.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && site !== "none")
      throw forbidden("Cross-site requests are not accepted. Open the dashboard at its own address.");
  }
  const presented = request.headers[CSRF_HEADER];
  const value = Array.isArray(presented) ? presented[0] : presented;
  if (!value)
    throw forbidden("The request lacks the dashboard's CSRF header. Reload the page and try again.");
  if (context) {
    const a = Buffer.from(value);
    const b = Buffer.from(context.csrfToken);
    if (a.length !== b.length || !timingSafeEqual(a, b))
      throw forbidden("The page is out of date (CSRF token mismatch). Reload the page and try again.");
  }
}

const contexts = new WeakMap<FastifyRequest, SessionContext>();

export async function loadSession(
  request: FastifyRequest,
  admins: AdminService,
): Promise<SessionContext | undefined> {
  const context = await admins.resolveSession(readCookie(request, SESSION_COOKIE));
  if (context) contexts.set(request, context);
  return context;
}

/** The signed-in admin of a request that passed the dashboard's auth hook. */
export function sessionOf(request: FastifyRequest): SessionContext {
  const context = contexts.get(request);
  if (!context)
    throw new AppError("missing_credentials", { detail: "You are signed out. Sign in to continue." });
  return context;
}
