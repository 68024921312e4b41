// `$expand` on messages (Graph v1.0 CSDL: attachments, extensions, singleValueExtendedProperties and
// multiValueExtendedProperties are the navigation properties of microsoft.graph.message).
import { badRequest, unknownProperty } from "./errors.ts";
import { parseExtendedExpand } from "./extended-properties.ts";
import { ATTACHMENT_PROPERTIES, MESSAGE_PROPERTIES, MESSAGE_PROPERTY_SET, parseSelect } from "./serialize.ts";

export type ExpandedNavigation = "attachments" | "singleValueExtendedProperties";

export interface MessageExpand {
  /** The expanded navigation properties, in the order asked (the order Graph lists them in). */
  order: ExpandedNavigation[];
  /** Attachment properties to return; null = all (incl. `contentBytes`). */
  attachments: string[] | null;
  /** Canonical ids of the extended properties asked for. */
  extendedProperties: string[];
}

const MESSAGE_NAVIGATION = [
  "attachments",
  "extensions",
  "multiValueExtendedProperties",
  "singleValueExtendedProperties",
];

/**
 * Parses `$expand` for messages (e.g. `attachments($select=id,name,size)`,
 * `singleValueExtendedProperties($filter=id eq 'String 0x1042')`). Graph answers 400 for a name
 * that is no property of the type; the sandbox also refuses navigation properties it does not model
 * and nested options other than those.
 */
export function parseMessageExpand(raw: string | null): MessageExpand | null {
  if (raw === null || raw.trim() === "") return null;
  const expand: MessageExpand = { order: [], attachments: null, extendedProperties: [] };
  for (const item of splitTopLevel(raw, ",")) {
    const match = /^\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*$/s.exec(item);
    if (!match) throw badRequest(`Invalid $expand expression '${item.trim()}'.`);
    const name = match[1]!;
    const lower = name.toLowerCase();
    if (lower === "singlevalueextendedproperties") {
      expand.extendedProperties = parseExtendedExpand(match[2] ?? "");
      if (!expand.order.includes("singleValueExtendedProperties"))
        expand.order.push("singleValueExtendedProperties");
      continue;
    }
    if (lower !== "attachments") {
      if (MESSAGE_NAVIGATION.some((nav) => nav.toLowerCase() === lower))
        throw badRequest(`The sandbox does not support $expand=${name}.`);
      if (MESSAGE_PROPERTY_SET.has(name) || MESSAGE_PROPERTIES.some((p) => p.toLowerCase() === lower))
        throw badRequest(
          `Property '${name}' on type 'microsoft.graph.message' is not a navigation property or complex property. Only navigation properties can be expanded.`,
        );
      throw unknownProperty(name);
    }
    let select: string[] | null = null;
    for (const option of splitTopLevel(match[2] ?? "", ";")) {
      if (option.trim() === "") continue;
      const eq = option.indexOf("=");
      const key = (eq < 0 ? option : option.slice(0, eq)).trim().toLowerCase();
      if (key !== "$select")
        throw badRequest(`The sandbox supports only $select inside $expand, not '${option.trim()}'.`);
      select = parseSelect(option.slice(eq + 1), ATTACHMENT_PROPERTIES, "microsoft.graph.attachment");
    }
    expand.attachments = select;
    if (!expand.order.includes("attachments")) expand.order.push("attachments");
  }
  return expand;
}

/** Splits on `separator` outside parentheses and single-quoted literals. */
function splitTopLevel(raw: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === "'") inQuote = !inQuote;
    else if (inQuote) continue;
    else if (ch === "(") depth++;
    else if (ch === ")") depth = Math.max(0, depth - 1);
    else if (ch === separator && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  return parts;
}

/** The OData context suffix of a message projection, e.g. `(id,subject,attachments(id,name))`. */
export function messageContextSuffix(select: string[] | null, expand: MessageExpand | null): string {
  const parts = select ? [...select] : [];
  for (const name of expand?.order ?? [])
    parts.push(name === "attachments" ? `attachments(${expand?.attachments?.join(",") ?? ""})` : `${name}()`);
  return parts.length > 0 ? `(${parts.join(",")})` : "";
}
