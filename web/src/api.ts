// The dashboard's only way to reach the server: endpoints named by their contract key
// ("GET /accounts/:id"), JSON in and out, the CSRF header on state changes, and errors turned into
// sentences that say what to do. Types come from the server's contract (src/contracts/dashboard);
// only its two constants are loaded at run time.
import { CSRF_HEADER, DASHBOARD_API } from "../../src/contracts/dashboard/constants.ts";
import type {
  ApiError,
  DashboardRoute,
  RouteInput,
  RouteOutput,
} from "../../src/contracts/dashboard/index.ts";

let csrfToken: string | null = null;
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export class RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Called when the server says the session is gone, so the app can show the sign-in page. */
let onSignedOut: () => void = () => {};
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/** The input argument is optional only for endpoints that take no parameters, query or body. */
type Args<R extends DashboardRoute> =
  object extends RouteInput<R> ? [input?: RouteInput<R>] : [input: RouteInput<R>];

/** The URL of an endpoint: `:name` segments filled from params, the query appended. */
export function endpointUrl(
  pattern: string,
  params: Record<string, string> = {},
  query: Record<string, string | undefined> = {},
): string {
  const path = pattern.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, value);
  const qs = search.toString();
  return `${DASHBOARD_API}${path}${qs ? `?${qs}` : ""}`;
}

export async function call<R extends DashboardRoute>(route: R, ...[input]: Args<R>): Promise<RouteOutput<R>> {
  const [method, pattern] = route.split(" ") as [string, string];
  const given = input as
    | { params?: Record<string, string>; query?: Record<string, string | undefined>; body?: unknown }
    | undefined;
  // POST and PUT always carry a JSON body (Fastify refuses an empty one with a JSON content type).
  const body = given?.body ?? (method === "POST" || method === "PUT" ? {} : undefined);
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = csrfToken ?? "1";
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(endpointUrl(pattern, given?.params, given?.query), {
      method,
      headers,
      credentials: "same-origin",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new RequestError(
      "Mailroom cannot be reached. Check that the server is running, then try again.",
      0,
    );
  }
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const error = data as Partial<ApiError> | undefined;
    if (res.status === 401 && error?.type === "errors/missing_credentials") onSignedOut();
    throw new RequestError(error?.detail ?? error?.title ?? `The server answered ${res.status}.`, res.status);
  }
  return data as RouteOutput<R>;
}

export function formatTime(at: number | null | undefined): string {
  if (!at) return "—";
  return new Date(at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDate(at: number | null | undefined): string {
  if (!at) return "—";
  return new Date(at).toLocaleDateString(undefined, { dateStyle: "medium" });
}
