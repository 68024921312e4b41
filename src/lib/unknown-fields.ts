// A field a request names that the endpoint does not know is refused by name rather than dropped: a
// misspelt option (`tracking_option`, `unred`) would otherwise be ignored unnoticed. One wording for
// query parameters and body fields, whether Ajv (a closed TypeBox schema) or a hand parser found it.
import { AppError } from "./errors.ts";

export type FieldPlace = "querystring" | "body";

/** The names of `record`'s own keys that are not in `known`. */
export function unknownKeys(record: object, known: Iterable<string>): string[] {
  const allowed = known instanceof Set ? (known as Set<string>) : new Set(known);
  return Object.keys(record).filter((k) => !allowed.has(k));
}

/** `400 errors/invalid_parameters` naming up to ten unknown fields and listing the known ones. */
export function unknownFieldsError(
  place: FieldPlace | string,
  unknown: readonly string[],
  known: Iterable<string>,
  cause?: unknown,
): AppError {
  const noun = place === "querystring" ? "parameter" : "field";
  const names = unknown.slice(0, 10).map((k) => JSON.stringify(k.slice(0, 100)));
  const more = unknown.length > 10 ? ` and ${unknown.length - 10} more` : "";
  const list = [...known];
  return new AppError("invalid_parameters", {
    detail: `${place}: unknown ${noun}${unknown.length > 1 ? "s" : ""} ${names.join(", ")}${more}; ${
      list.length > 0 ? `this endpoint takes ${list.join(", ")}` : "this endpoint takes none"
    }`,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** Throws `unknownFieldsError` when `record` has a key outside `known`. */
export function refuseUnknownFields(
  place: FieldPlace | string,
  record: object,
  known: readonly string[],
): void {
  const unknown = unknownKeys(record, known);
  if (unknown.length > 0) throw unknownFieldsError(place, unknown, known);
}
