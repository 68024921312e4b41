// Route options from a contract endpoint (src/contracts/dashboard): the method, path and schemas come
// from the contract, so the route cannot drift from what the React app calls, and its response is
// serialised by (and its handler type-checked against) the contract's schema.
import type { Endpoint } from "../../../contracts/dashboard/index.ts";

export function routeOf<const E extends Endpoint>(
  endpoint: E,
  config: { public?: boolean } = {},
): { method: E["method"]; url: E["path"]; schema: E["schema"]; config: { public?: boolean } } {
  return { method: endpoint.method, url: endpoint.path, schema: endpoint.schema, config };
}
