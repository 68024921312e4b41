// The dashboard API (/dashboard/api/*) as data: every endpoint's method, path and schemas. The server
// registers exactly these routes with these schemas; the React app calls them by key with types
// derived from the same schemas (`import type` only, plus the constants in constants.ts).
import type { Static, TSchema } from "typebox";
import { ACCOUNT_ENDPOINTS } from "./accounts.ts";
import { API_KEY_ENDPOINTS } from "./api-keys.ts";
import { endpointTable } from "./common.ts";
import { SCHEDULED_ENDPOINTS } from "./scheduled.ts";
import { SESSION_ENDPOINTS } from "./session.ts";
import { SETTINGS_ENDPOINTS } from "./settings.ts";
import { TRACKING_ENDPOINTS } from "./tracking.ts";
import { WEBHOOK_ENDPOINTS } from "./webhooks.ts";

export * from "./accounts.ts";
export * from "./api-keys.ts";
export { ApiError, type Endpoint, type EndpointSchema, type Method } from "./common.ts";
export * from "./constants.ts";
export * from "./scheduled.ts";
export * from "./session.ts";
export * from "./settings.ts";
export * from "./tracking.ts";
export * from "./webhooks.ts";

export const DASHBOARD_ENDPOINTS = endpointTable(
  ...SESSION_ENDPOINTS,
  ...SETTINGS_ENDPOINTS,
  ...ACCOUNT_ENDPOINTS,
  ...SCHEDULED_ENDPOINTS,
  ...API_KEY_ENDPOINTS,
  ...WEBHOOK_ENDPOINTS,
  ...TRACKING_ENDPOINTS,
);

type Endpoints = typeof DASHBOARD_ENDPOINTS;
/** "METHOD /path" of a dashboard endpoint, e.g. "GET /accounts/:id". */
export type DashboardRoute = keyof Endpoints;
type SchemaOf<R extends DashboardRoute> = Endpoints[R]["schema"];
type Part<S, Name extends string, As extends string> = S extends { [N in Name]: infer T extends TSchema }
  ? { [K in As]: Static<T> }
  : { [K in As]?: never };

/** What a call sends: path parameters, query and JSON body, each only where the endpoint takes one. */
export type RouteInput<R extends DashboardRoute> = Part<SchemaOf<R>, "params", "params"> &
  Part<SchemaOf<R>, "querystring", "query"> &
  Part<SchemaOf<R>, "body", "body">;

/** What a successful call answers. */
export type RouteOutput<R extends DashboardRoute> = {
  [S in keyof SchemaOf<R>["response"]]: SchemaOf<R>["response"][S] extends infer T extends TSchema
    ? Static<T>
    : never;
}[keyof SchemaOf<R>["response"]];
