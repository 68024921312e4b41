// Building blocks of the dashboard API's contract: an endpoint is a method, a path under
// DASHBOARD_API and the TypeBox schemas of what goes in and comes out. The server registers each
// endpoint with these schemas (validation and serialisation); the browser derives its types from them.
import { type Static, type TSchema, Type } from "typebox";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface EndpointSchema {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** By status code: the success answer the route sends. Errors are ApiError. */
  response: { [status: number]: TSchema };
}

export interface Endpoint {
  method: Method;
  path: string;
  schema: EndpointSchema;
}

export function endpoint<const M extends Method, const P extends string, const S extends EndpointSchema>(
  method: M,
  path: P,
  schema: S,
): { method: M; path: P; schema: S } {
  return { method, path, schema };
}

/** Endpoints keyed by "METHOD /path", so the key alone names a route and carries its types. */
export type EndpointTable<E extends readonly Endpoint[]> = {
  [C in E[number] as `${C["method"]} ${C["path"]}`]: C;
};

export function endpointTable<const E extends readonly Endpoint[]>(...endpoints: E): EndpointTable<E> {
  return Object.fromEntries(endpoints.map((e) => [`${e.method} ${e.path}`, e])) as EndpointTable<E>;
}

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Unipile's error body, which every 4xx and 5xx of the dashboard API carries. */
export const ApiError = Type.Object({
  status: Type.Integer(),
  type: Type.String(),
  title: Type.String(),
  detail: Type.Optional(Type.String()),
});
export type ApiError = Static<typeof ApiError>;

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const Deleted = Type.Object({ deleted: Type.Literal(true) });
