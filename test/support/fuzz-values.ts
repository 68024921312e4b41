// Values for fuzzing: hostile strings, well-formed but impossible dates and cursors, and values for a
// JSON schema that are mostly of the right type, built from pools of values that exist.
import fc from "fast-check";

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  required?: string[];
}

/** Values a client may send by mistake or by malice. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "..",
    "../../etc/passwd",
    "%00",
    "\u0000",
    "%2F",
    "a/b",
    "%2e%2e",
    "%",
    "%zz",
    "' or 1 eq 1 or '",
    "__proto__",
    "constructor",
    "prototype",
    "null",
    "undefined",
    "NaN",
    "-1",
    "1e309",
    "😀",
    "\u202eevil",
    "ｆｕｌｌ",
    "<script>alert(1)</script>",
    "a\r\nX-Injected: 1",
    "=cmd|' /C calc'!A0",
    "AAAA====",
    "eyJhY2NvdW50X2lkIjoxfQ==",
  ),
  fc.constantFrom(300, 2049, 9000, 70_000).map((n) => "a".repeat(n)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);

/** Dates that match Unipile's pattern but are not dates, and other near-misses. */
const hostileDate = fc.constantFrom(
  "2024-19-39T99:99:99.999Z",
  "2024-02-30T00:00:00.000Z",
  "1000-00-00T00:00:00.000Z",
  "2999-12-31T23:59:59.999Z",
  "2024-01-01",
  "yesterday",
);

/** A cursor-shaped value: base64 JSON of the list state, with fields of the wrong type, size or value. */
const forgedCursor = (accountIds: string[]): fc.Arbitrary<string> => {
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  return fc
    .record({
      account_id: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...accountIds) }, fc.integer()),
      limit: maybe(fc.oneof(fc.integer({ min: 1, max: 250 }), fc.integer(), fc.string())),
      from: maybe(fc.oneof(fc.string(), fc.integer(), fc.constant("a".repeat(20_000)))),
      any_email: maybe(fc.constant(Array.from({ length: 60 }, (_, i) => `u${i}@x.io`).join(","))),
      role: maybe(fc.oneof(fc.constantFrom("inbox", "__proto__", "constructor", "toString"), fc.integer())),
      folder: maybe(fc.oneof(fc.string(), fc.constant({}))),
      before: maybe(fc.oneof(hostileDate, fc.integer())),
      after: maybe(hostileDate),
      meta_only: maybe(fc.oneof(fc.boolean(), fc.string())),
      cursor: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            last_id: fc.oneof(fc.string(), fc.integer()),
            last_date: fc.oneof(hostileDate, fc.constant(""), fc.integer()),
            seen: fc.oneof(fc.array(fc.anything(), { maxLength: 3 }), fc.constant([])),
          }),
        },
        fc.anything(),
      ),
    })
    .map((state) => Buffer.from(JSON.stringify(state)).toString("base64"));
};

/** Values that exist, by the name of what they fill (`account_id`, `emails` for an email id…); `any` for the rest. */
export type Pools = Record<string, string[]> & { any: string[] };

export function stringValue(pools: Pools, name?: string, hostile = true): fc.Arbitrary<string> {
  const fitting = (name !== undefined && pools[name]?.length ? pools[name] : undefined) ?? pools.any;
  if (!hostile) {
    // Well-typed values that exist, plus the well-formed but impossible (forged cursors, dates that match the pattern).
    if (name === "cursor") return forgedCursor(pools.account_id ?? pools.any);
    if (name === "before" || name === "after") return fc.oneof(hostileDate, fc.constantFrom(...fitting));
    return fc.constantFrom(...fitting);
  }
  if (name === "cursor")
    return fc.oneof(
      { weight: 3, arbitrary: forgedCursor(pools.account_id ?? pools.any) },
      { weight: 1, arbitrary: hostileString },
    );
  if (name === "before" || name === "after")
    return fc.oneof(
      { weight: 3, arbitrary: hostileDate },
      { weight: 1, arbitrary: fc.constantFrom(...fitting) },
    );
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...fitting) },
    { weight: 1, arbitrary: fc.constantFrom(...pools.any) },
    { weight: 3, arbitrary: hostileString },
    { weight: 1, arbitrary: forgedCursor(pools.account_id ?? pools.any) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  );
}

function enumValues(schema: JsonSchema): unknown[] {
  const values: unknown[] = [...(schema.enum ?? [])];
  if (schema.const !== undefined) values.push(schema.const);
  for (const alt of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) values.push(...enumValues(alt));
  return values;
}

/** A value for a JSON schema: mostly of the right type, sometimes wrong, huge or hostile. */
export function valueFor(
  schema: JsonSchema,
  pools: Pools,
  depth = 0,
  name?: string,
  hostile = true,
): fc.Arbitrary<unknown> {
  const enums = enumValues(schema);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  let right: fc.Arbitrary<unknown>;
  if (enums.length > 0) right = fc.constantFrom(...enums);
  else if (type === "integer" || type === "number")
    right = fc.oneof(
      fc.integer({ min: schema.minimum ?? -5, max: Math.min(schema.maximum ?? 300, 10_000) }),
      fc.constantFrom(0, -1, 2 ** 53, 1e308, 0.5),
    );
  else if (type === "boolean") right = fc.boolean();
  else if (type === "array")
    right = fc.array(valueFor(schema.items ?? {}, pools, depth + 1, name, hostile), {
      maxLength: depth > 2 ? 1 : 4,
    });
  else if (type === "object" || schema.properties) right = objectFor(schema, pools, depth, hostile);
  else right = stringValue(pools, name, hostile);
  if (!hostile) return right;
  return fc.oneof(
    { weight: 6, arbitrary: right },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constant(null),
        fc.integer(),
        fc.boolean(),
        stringValue(pools, name),
        fc.constant([]),
        fc.constant({}),
      ),
    },
  );
}

function objectFor(
  schema: JsonSchema,
  pools: Pools,
  depth: number,
  hostile = true,
): fc.Arbitrary<Record<string, unknown>> {
  const properties = depth > 3 ? {} : (schema.properties ?? {});
  const known = fc.record(
    Object.fromEntries(
      Object.entries(properties).map(([k, s]) => [k, valueFor(s, pools, depth + 1, k, hostile)]),
    ),
    { requiredKeys: hostile ? [] : (schema.required ?? []).filter((k) => k in properties) },
  );
  const extra = fc.dictionary(
    fc.oneof(
      fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty"),
      fc.string(),
    ),
    fc.oneof(fc.constant({ polluted: true }), fc.string(), fc.integer()),
    { maxKeys: 2 },
  );
  return fc.tuple(known, fc.option(extra, { nil: undefined })).map(([k, e]) => {
    // Own keys only, `__proto__` included, as JSON.parse would make them.
    const merged: Record<string, unknown> = {};
    for (const [name, value] of [...Object.entries(k), ...Object.entries(e ?? {})])
      Object.defineProperty(merged, name, { value, enumerable: true, writable: true, configurable: true });
    return merged;
  });
}
