// Input checks shared by the admin endpoints: a BadInput becomes a 400 with the message as is.
import type { AppRegistration, SandboxState, SandboxUser } from "../state.ts";

export class BadInput extends Error {}

export function bad(message: string): never {
  throw new BadInput(message);
}

export type Body = Record<string, unknown>;

export function asBody(value: unknown): Body {
  if (!value || typeof value !== "object" || Array.isArray(value)) bad("Body must be a JSON object.");
  return value as Body;
}

export function optString(body: Body, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") bad(`'${name}' must be a string.`);
  return v;
}

export function optBool(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") bad(`'${name}' must be a boolean.`);
  return v;
}

export function optNumber(body: Body, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) bad(`'${name}' must be a number.`);
  return v;
}

export function optStringArray(body: Body, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    bad(`'${name}' must be an array of strings.`);
  return v as string[];
}

/** Accepts an ISO date string or epoch milliseconds. */
export function optTime(body: Body, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string") {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  bad(`'${name}' must be an ISO-8601 date or epoch milliseconds.`);
}

export function findUser(state: SandboxState, ref: string | undefined): SandboxUser {
  if (!ref) bad("'user' (email or id) is required for this action.");
  const user = state.users.get(ref) ?? state.userByEmail(ref);
  if (!user) bad(`Unknown user '${ref}'.`);
  return user;
}

export function findApp(state: SandboxState, clientId: string | undefined): AppRegistration {
  if (!clientId) bad("'client_id' is required for this action.");
  const app = state.apps.get(clientId);
  if (!app) bad(`Unknown client_id '${clientId}'.`);
  return app;
}
