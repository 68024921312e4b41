// Types shared by the Graph handlers: the transport-neutral request/response (so `$batch` can run
// sub-requests through the same pipeline as HTTP), Prefer parsing and link building.
import type { AppRegistration, SandboxState, SandboxUser } from "../state.ts";
import { badRequest, GraphError } from "./errors.ts";
import type { MailboxStore } from "./mailbox-store.ts";
import type { RenderContext } from "./serialize.ts";

export interface GraphRequest {
  method: string;
  /** Path below /v1.0, already normalised into decoded segments. */
  segments: string[];
  /** Path below /v1.0 as sent (used to build nextLinks). */
  rawPath: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: Buffer | null;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON body (serialised by the transport) or raw bytes. */
  json?: unknown;
  raw?: Buffer;
}

export interface Preferences extends RenderContext {
  maxPageSize: number | null;
  applied: string[];
}

export interface HandlerContext {
  state: SandboxState;
  request: GraphRequest;
  caller: SandboxUser;
  app: AppRegistration;
  scopes: string[];
  /** The mailbox owner addressed by /me or /users/{id}. */
  user: SandboxUser;
  store: MailboxStore;
  prefer: Preferences;
  params: Record<string, string>;
  /** "/me" or "/users/{ref}" exactly as the caller wrote it. */
  mailboxPrefix: string;
  requestId: string;
}

/**
 * A Graph resource outside any mailbox path (`/subscriptions`). Delegated calls act for the signed-in
 * user, so the caller is the mailbox whose fault switches apply.
 */
export interface ResourceContext {
  state: SandboxState;
  request: GraphRequest;
  caller: SandboxUser;
  app: AppRegistration;
  scopes: string[];
  params: Record<string, string>;
  requestId: string;
}

export type ResourceHandler = (ctx: ResourceContext) => GraphResponse | Promise<GraphResponse>;

export interface ResourceRoute {
  method: string;
  /** Below /v1.0, `:name` segments become params, e.g. `subscriptions/:id`. */
  path: string;
  handler: ResourceHandler;
}

function splitPrefer(header: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (const char of header) {
    if (char === '"') quoted = !quoted;
    if (char === "," && !quoted) {
      parts.push(current.trim());
      current = "";
    } else current += char;
  }
  if (current.trim() !== "") parts.push(current.trim());
  return parts;
}

export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = {
    immutableIds: false,
    contentType: null,
    allowUnsafeHtml: false,
    maxPageSize: null,
    applied: [],
  };
  for (const part of splitPrefer(header ?? "")) {
    const match = /^([^=]+?)\s*(?:=\s*"?([^"]*)"?)?$/.exec(part);
    if (!match) continue;
    const name = match[1]!.trim().toLowerCase();
    const value = (match[2] ?? "").trim();
    if (name === "idtype" && value.toLowerCase() === "immutableid") prefs.immutableIds = true;
    else if (
      name === "outlook.body-content-type" &&
      (value.toLowerCase() === "text" || value.toLowerCase() === "html")
    ) {
      prefs.contentType = value.toLowerCase() as "text" | "html";
      prefs.applied.push(`outlook.body-content-type="${prefs.contentType}"`);
    } else if (name === "outlook.allow-unsafe-html") prefs.allowUnsafeHtml = true;
    else if (name === "odata.maxpagesize") {
      const size = Number(value);
      if (Number.isInteger(size) && size > 0) prefs.maxPageSize = size;
    }
  }
  return prefs;
}

export function baseUrl(state: SandboxState): string {
  return state.options.baseUrl.replace(/\/$/, "");
}

/** `@odata.context` for a path below the user, e.g. `messages`, `mailFolders('id')/messages`. */
export function contextUrl(ctx: HandlerContext, fragment: string): string {
  return `${baseUrl(ctx.state)}/v1.0/$metadata#users('${encodeURIComponent(ctx.user.id)}')/${fragment}`;
}

export function jsonBody(ctx: HandlerContext): Record<string, unknown> {
  const body = ctx.request.body;
  if (!body || body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // falls through to Graph's error
  }
  throw badRequest(
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
  );
}

/** Integer query option within bounds, else 400 like Graph. */
export function intOption(ctx: HandlerContext, name: string, min: number, max: number): number | null {
  const raw = ctx.request.query.get(name);
  if (raw === null) return null;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw badRequest(`Invalid value '${raw}' for query option '${name}'.`);
  if (value < min || value > max) {
    throw new GraphError(
      400,
      "ErrorInvalidUrlQuery",
      `The value '${raw}' of parameter '${name}' should be between ${min} and ${max} inclusive.`,
    );
  }
  return value;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): GraphResponse {
  return { status, headers, json: body };
}

export function empty(status: number, headers: Record<string, string> = {}): GraphResponse {
  return { status, headers };
}
