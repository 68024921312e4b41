// Every request body Mailroom validates is closed (`additionalProperties: false`), so an unknown field
// is a 400 naming it (error-handler.ts) instead of being dropped. This check runs as each route is
// registered: a route whose body schema leaves an object open fails the app's start (and every test
// that builds the app), rather than silently accepting anything.
import type { RouteOptions } from "fastify";

/** Paths (`body`, `body.headers[]`, …) of the object schemas in `schema` that accept unknown keys. */
export function openObjects(schema: unknown, path = "body"): string[] {
  if (schema === null || typeof schema !== "object") return [];
  const s = schema as Record<string, unknown>;
  const found: string[] = [];
  const isObject = s.type === "object" || (s.properties !== undefined && s.type === undefined);
  if (isObject && (s.additionalProperties === undefined || s.additionalProperties === true)) found.push(path);
  for (const [name, child] of Object.entries((s.properties as Record<string, unknown> | undefined) ?? {}))
    found.push(...openObjects(child, `${path}.${name}`));
  if (s.items !== undefined) found.push(...openObjects(s.items, `${path}[]`));
  for (const key of ["anyOf", "oneOf", "allOf"] as const)
    for (const member of (s[key] as unknown[] | undefined) ?? []) found.push(...openObjects(member, path));
  return found;
}

/** Fastify `onRoute` hook: refuses to register a route whose body schema has an open object. */
export function requireClosedBodies(route: RouteOptions): void {
  const body = (route.schema as { body?: unknown } | undefined)?.body;
  if (body === undefined) return;
  const open = openObjects(body);
  if (open.length > 0)
    throw new Error(
      `${String(route.method)} ${route.url}: body schema must set additionalProperties: false at ${open.join(", ")}`,
    );
}
