// fast-check arbitraries for hostile requests, derived from Mailroom's own OpenAPI document so that a
// new route is fuzzed without editing the suite: path parameters, query strings, headers, and JSON,
// multipart, form and raw bodies, mixing valid values (ids that exist) with hostile ones.
import fc from "fast-check";
import { bodyFor, calmMultipart, type FuzzBody, SEND_LIKE } from "./fuzz-bodies.ts";
import { hostileString, type JsonSchema, type Pools, stringValue, valueFor } from "./fuzz-values.ts";

export type { Pools } from "./fuzz-values.ts";

export interface Operation {
  method: string;
  /** OpenAPI path, `{name}` for path parameters. */
  path: string;
  params: { in: "path" | "query"; name: string; schema: JsonSchema }[];
  body: JsonSchema | undefined;
}

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** Every `/api/v1` operation in an OpenAPI 3 document. */
export function operationsOf(doc: {
  paths: Record<string, Record<string, Record<string, unknown>>>;
}): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith("/api/v1/")) continue;
    for (const [method, op] of Object.entries(methods)) {
      const params = ((op.parameters as Operation["params"] | undefined) ?? []).filter(
        (p) => p.in === "path" || p.in === "query",
      );
      const content = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)
        ?.content;
      ops.push({ method: method.toUpperCase(), path, params, body: content?.["application/json"]?.schema });
    }
  }
  return ops;
}

function encodePathValue(value: string): fc.Arbitrary<string> {
  const safeRaw = /^[A-Za-z0-9._~%!$&'()*+,;=:@-]*$/.test(value);
  return fc.constantFrom(
    encodeURIComponent(value),
    encodeURIComponent(encodeURIComponent(value)),
    safeRaw && value !== "" ? value : encodeURIComponent(value),
  );
}

/** One hostile request for an operation; `pool` holds ids that exist (accounts, emails, folders, webhooks). */
export function requestFor(op: Operation, pools: Pools, apiKey: string): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(calmRequestFor(op, pools, apiKey), hostileRequestFor(op, pools, apiKey));
}

/**
 * A request that is well typed throughout, with values that exist or are well formed but impossible,
 * so that it gets past validation and the account lookup into the services.
 */
function calmRequestFor(op: Operation, pools: Pools, apiKey: string): fc.Arbitrary<FuzzRequest> {
  const pathNames = op.params.filter((p) => p.in === "path").map((p) => p.name);
  const poolNames = pathNames.map((name) =>
    name === "id" ? (/\/([a-z_]+)\/\{id\}/.exec(op.path)?.[1] ?? name) : name,
  );
  const pathValues = fc.tuple(
    ...poolNames.map((name) => stringValue(pools, name, false).map(encodeURIComponent)),
  );
  const queryParams = op.params.filter((p) => p.in === "query");
  // Required parameters always, each optional one a third of the time: a few filters at once get
  // further than all of them (a cursor, for one, replaces the other filters).
  const query = fc.record(
    Object.fromEntries(
      queryParams.map((p) => {
        const value = valueFor(p.schema, pools, 0, p.name, false);
        const required = (p as { required?: boolean }).required;
        return [p.name, required ? value : fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, value)];
      }),
    ),
  );
  const hasBody = ["POST", "PUT", "PATCH"].includes(op.method);
  const body: fc.Arbitrary<FuzzBody> = hasBody
    ? fc.oneof(
        valueFor(op.body ?? SEND_LIKE, pools, 0, undefined, false).map((v) => ({
          contentType: "application/json",
          payload: JSON.stringify(v) ?? "",
        })),
        op.body
          ? fc.constant<FuzzBody>({ contentType: "application/json", payload: "{}" })
          : calmMultipart(pools),
      )
    : fc.constant<FuzzBody>({});
  return fc.record({ pathValues, query, body }).map(({ pathValues, query, body }) => {
    let i = 0;
    const path = op.path.replace(/\{[^}]+\}/g, () => pathValues[i++] ?? "x");
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (v !== undefined) search.append(k, typeof v === "string" ? v : (JSON.stringify(v) ?? ""));
    const qs = search.toString();
    const headers: Record<string, string> = { "x-api-key": apiKey };
    if (body.contentType !== undefined) headers["content-type"] = body.contentType;
    return {
      method: op.method,
      url: qs ? `${path}?${qs}` : path,
      headers,
      ...(body.payload !== undefined ? { payload: body.payload } : {}),
    };
  });
}

function hostileRequestFor(op: Operation, pools: Pools, apiKey: string): fc.Arbitrary<FuzzRequest> {
  const pathNames = op.params.filter((p) => p.in === "path").map((p) => p.name);
  // `{id}` is named by the segment before it (`/emails/{id}` → `emails`), other parameters by themselves.
  const poolNames = pathNames.map((name) =>
    name === "id" ? (/\/([a-z_]+)\/\{id\}/.exec(op.path)?.[1] ?? name) : name,
  );
  const pathValues = fc.tuple(...poolNames.map((name) => stringValue(pools, name).chain(encodePathValue)));
  const queryParams = op.params.filter((p) => p.in === "query");
  const query = fc.record(
    Object.fromEntries(queryParams.map((p) => [p.name, valueFor(p.schema, pools, 0, p.name)])),
    {
      requiredKeys: [],
    },
  );
  const unknownQuery = fc.dictionary(
    fc.oneof(fc.constantFrom("__proto__", "$filter", "limit[]"), fc.string({ maxLength: 8 })),
    fc.string(),
    { maxKeys: 2 },
  );
  const repeat = fc.option(fc.constantFrom(...queryParams.map((p) => p.name).concat("x")), {
    nil: undefined,
  });
  const key = fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | undefined>(apiKey) },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, "", "mr_nope", "x".repeat(9000)) },
  );
  const method = fc.oneof(
    { weight: 9, arbitrary: fc.constant(op.method) },
    { weight: 1, arbitrary: fc.constantFrom("PATCH", "PUT", "OPTIONS", "HEAD") },
  );
  const hasBody = ["POST", "PUT", "PATCH"].includes(op.method);
  const body = hasBody
    ? bodyFor(op.body, pools)
    : fc.oneof(
        { weight: 4, arbitrary: fc.constant<FuzzBody>({}) },
        { weight: 1, arbitrary: bodyFor(op.body, pools) },
      );
  return fc
    .record({
      pathValues,
      query,
      unknownQuery,
      repeat,
      key,
      method,
      body,
      accept: fc.constantFrom("application/json", "*/*", "text/html", ""),
      extraHeaders: fc.dictionary(
        fc.constantFrom(
          "x-forwarded-for",
          "x-forwarded-proto",
          "content-encoding",
          "expect",
          "origin",
          "cookie",
          "x-request-id",
        ),
        fc.oneof(
          hostileString.filter((v) => /^[\t\x20-\x7e]*$/.test(v)),
          fc.constantFrom("gzip", "100-continue", "null"),
        ),
        { maxKeys: 2 },
      ),
    })
    .map(({ pathValues, query, unknownQuery, repeat, key, method, body, accept, extraHeaders }) => {
      let i = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () => pathValues[i++] ?? "x");
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(query))
        search.append(k, typeof v === "string" ? v : (JSON.stringify(v) ?? ""));
      for (const [k, v] of Object.entries(unknownQuery)) search.append(k, v);
      if (repeat) {
        search.append(repeat, "1");
        search.append(repeat, "2");
      }
      const qs = search.toString();
      const headers: Record<string, string> = { ...extraHeaders };
      if (key !== undefined) headers["x-api-key"] = key;
      if (accept) headers.accept = accept;
      if (body.contentType !== undefined) headers["content-type"] = body.contentType;
      return {
        method,
        url: qs ? `${path}?${qs}` : path,
        headers,
        ...(body.payload !== undefined ? { payload: body.payload } : {}),
      };
    });
}
