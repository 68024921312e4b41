// Single-value extended properties of messages (Graph v1.0: `singleValueExtendedProperties`, a
// navigation property of message whose entities are `singleValueLegacyExtendedProperty {id, value}`).
// An id names a MAPI property: `{type} 0x{tag}` (a tagged property, e.g. `String 0x1042`,
// PidTagInReplyToId), `{type} {guid} Name {name}` or `{type} {guid} Id 0x{id}` (named properties).
// They are set in the body of create, PATCH, sendMail and reply/forward, and read with
// `$expand=singleValueExtendedProperties($filter=id eq '…')`: a message without a matching
// property has no `singleValueExtendedProperties` member at all.
import { badRequest } from "./errors.ts";
import type { MessageRecord } from "./mailbox-records.ts";

export interface ExtendedProperty {
  /** The canonical id (see `canonicalPropertyId`). */
  id: string;
  value: string;
}

/** PidTagInReplyToId: Exchange fills it from the In-Reply-To header; the sandbox keeps it as `inReplyTo`. */
export const IN_REPLY_TO_ID = "String 0x1042";

/** MAPI property types Graph accepts in an extended property id, by their lower-case spelling. */
const TYPES = new Map(
  [
    "ApplicationTime",
    "Binary",
    "Boolean",
    "CLSID",
    "Currency",
    "Double",
    "Float",
    "Integer",
    "Long",
    "Object",
    "Short",
    "String",
    "SystemTime",
  ].map((name) => [name.toLowerCase(), name]),
);
const GUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;
const HEX = /^0x([0-9a-f]{1,4})$/i;

function invalidId(raw: string) {
  return badRequest(`The extended property id '${raw}' is not valid.`);
}

/**
 * One spelling per property: the type as MAPI names it, the GUID in lower case and braces, tags and
 * ids as lower-case hex. Names keep their case (named property names are case-sensitive).
 */
export function canonicalPropertyId(raw: string): string {
  const parts = raw.trim().split(/\s+/);
  const type = TYPES.get((parts[0] ?? "").toLowerCase());
  if (!type) throw invalidId(raw);
  if (parts.length === 2) {
    const tag = HEX.exec(parts[1]!);
    if (!tag) throw invalidId(raw);
    return `${type} 0x${tag[1]!.toLowerCase().padStart(4, "0")}`;
  }
  const guid = GUID.exec(parts[1] ?? "");
  const kind = (parts[2] ?? "").toLowerCase();
  if (!guid || parts.length < 4) throw invalidId(raw);
  if (kind === "name") {
    const name = raw.trim().split(/\s+/).slice(3).join(" ");
    return `${type} {${guid[1]!.toLowerCase()}} Name ${name}`;
  }
  const id = kind === "id" && parts.length === 4 ? HEX.exec(parts[3]!) : null;
  if (!id) throw invalidId(raw);
  return `${type} {${guid[1]!.toLowerCase()}} Id 0x${id[1]!.toLowerCase()}`;
}

/** The `singleValueExtendedProperties` member of a message body. */
export function parseExtendedProperties(value: unknown): ExtendedProperty[] {
  if (!Array.isArray(value)) throw badRequest("Invalid value for property 'singleValueExtendedProperties'.");
  const out: ExtendedProperty[] = [];
  for (const entry of value) {
    const item = entry as { id?: unknown; value?: unknown } | null;
    if (!item || typeof item.id !== "string")
      throw badRequest("Invalid value for property 'singleValueExtendedProperties'.");
    // `value` is Edm.String in the CSDL: every MAPI type travels as its string form.
    if (typeof item.value !== "string" && item.value !== null)
      throw badRequest(`Invalid value for the extended property '${item.id}'.`);
    const id = canonicalPropertyId(item.id);
    const at = out.findIndex((p) => p.id === id);
    const property = { id, value: item.value ?? "" };
    if (at >= 0) out[at] = property;
    else out.push(property);
  }
  return out;
}

/** A PATCH adds or replaces the properties it names; the others stay. */
export function mergeExtendedProperties(
  current: readonly ExtendedProperty[],
  changes: readonly ExtendedProperty[],
): ExtendedProperty[] {
  const out = current.filter((p) => !changes.some((c) => c.id === p.id));
  return [...out, ...changes];
}

/**
 * The ids of `$expand=singleValueExtendedProperties($filter=…)`: `id eq '…'` terms joined by `or`.
 * Graph documents reading extended properties only through such a filter; the sandbox refuses
 * the unfiltered expand.
 */
export function parseExtendedExpand(options: string): string[] {
  let filter: string | undefined;
  for (const option of splitOutsideQuotes(options, ";")) {
    if (option.trim() === "") continue;
    const eq = option.indexOf("=");
    const key = (eq < 0 ? option : option.slice(0, eq)).trim().toLowerCase();
    if (key !== "$filter")
      throw badRequest(
        `The sandbox supports only $filter inside $expand=singleValueExtendedProperties, not '${option.trim()}'.`,
      );
    filter = option.slice(eq + 1);
  }
  if (filter === undefined)
    throw badRequest(
      "The sandbox supports $expand=singleValueExtendedProperties only with $filter=id eq '…'.",
    );
  const ids: string[] = [];
  for (const term of splitOutsideQuotes(filter, " or ")) {
    const match = /^\s*id\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(term);
    if (!match) throw badRequest(`Invalid filter clause '${term.trim()}' on singleValueExtendedProperties.`);
    const id = canonicalPropertyId(match[1]!.replaceAll("''", "'"));
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** The message's properties among `ids`, in the order asked; undefined when none is set. */
export function renderExtendedProperties(
  message: MessageRecord,
  ids: readonly string[],
): { id: string; value: string }[] | undefined {
  const out: { id: string; value: string }[] = [];
  for (const id of ids) {
    if (id === IN_REPLY_TO_ID) {
      if (message.inReplyTo) out.push({ id, value: message.inReplyTo });
      continue;
    }
    const property = message.extendedProperties.find((p) => p.id === id);
    if (property) out.push({ id, value: property.value });
  }
  return out.length > 0 ? out : undefined;
}

/** Splits on `separator` outside single-quoted literals (case-insensitive for words like ` or `). */
function splitOutsideQuotes(raw: string, separator: string): string[] {
  const parts: string[] = [];
  let inQuote = false;
  let start = 0;
  const lower = raw.toLowerCase();
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === "'") inQuote = !inQuote;
    else if (!inQuote && lower.startsWith(separator, i)) {
      parts.push(raw.slice(start, i));
      start = i + separator.length;
      i = start - 1;
    }
  }
  parts.push(raw.slice(start));
  return parts;
}
