// The dashboard's only way to reach the server: JSON in and out, the CSRF header on state changes,
// and errors turned into sentences that say what to do.
import { type ApiError, CSRF_HEADER, DASHBOARD_API } from "./api-types.ts";

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

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = csrfToken ?? "1";
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${DASHBOARD_API}${path}`, {
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
  return data as T;
}

export function formatTime(at: number | null | undefined): string {
  if (!at) return "—";
  return new Date(at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDate(at: number | null | undefined): string {
  if (!at) return "—";
  return new Date(at).toLocaleDateString(undefined, { dateStyle: "medium" });
}
