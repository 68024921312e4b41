// A small, fast reader for the Graph v1.0 CSDL (3.4 MB of EDMX XML) and a checker that a JSON
// value emitted by the sandbox matches an EDM type: property names (with BaseType inheritance),
// primitive types, enums, complex types, collections and Nullable. Regex-based: the CSDL is
// machine-generated, one element per line, with no nested type definitions.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface CsdlProperty {
  name: string;
  type: string; // e.g. "Edm.String", "graph.recipient", "Collection(graph.recipient)"
  nullable: boolean;
  navigation: boolean;
}

export interface CsdlStructuredType {
  kind: "entity" | "complex";
  fullName: string; // microsoft.graph.message
  baseType: string | null; // full name
  openType: boolean;
  properties: Map<string, CsdlProperty>;
}

export interface CsdlModel {
  types: Map<string, CsdlStructuredType>; // by lower-cased full name
  enums: Map<string, { fullName: string; members: Set<string>; isFlags: boolean }>;
}

const ATTRIBUTE = /([\w:]+)="([^"]*)"/g;

function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of text.matchAll(ATTRIBUTE)) out[match[1]!] = match[2]!;
  return out;
}

/** The repo root is two levels above sandbox/test/support. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** CI clones the repo with `shared/` beside it: <root>/../shared/reference/msgraph/v1.0-Prod.csdl. */
export function csdlPath(): string {
  return join(REPO_ROOT, "..", "shared", "reference", "msgraph", "v1.0-Prod.csdl");
}

export function loadCsdl(path = csdlPath()): CsdlModel {
  if (!existsSync(path)) {
    throw new Error(
      `Graph v1.0 CSDL not found at ${path}. The CSDL fidelity test expects the shared reference checkout ` +
        "beside the repository (../shared/reference/msgraph/v1.0-Prod.csdl relative to the repo root).",
    );
  }
  return parseCsdl(readFileSync(path, "utf8"));
}

export function parseCsdl(xml: string): CsdlModel {
  const model: CsdlModel = { types: new Map(), enums: new Map() };
  const schemaPattern = /<Schema\b([^>]*)>([\s\S]*?)<\/Schema>/g;
  for (const schema of xml.matchAll(schemaPattern)) {
    const schemaAttributes = attributes(schema[1]!);
    const namespace = schemaAttributes.Namespace!;
    const alias = schemaAttributes.Alias;
    const qualify = (name: string): string => {
      if (alias && name.startsWith(`${alias}.`)) return `${namespace}.${name.slice(alias.length + 1)}`;
      return name;
    };
    const qualifyType = (type: string): string => {
      const collection = /^Collection\((.*)\)$/.exec(type);
      return collection ? `Collection(${qualify(collection[1]!)})` : qualify(type);
    };
    const body = schema[2]!;
    const typePattern = /<(EntityType|ComplexType)\b([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/g;
    for (const match of body.matchAll(typePattern)) {
      const typeAttributes = attributes(match[2]!);
      const properties = new Map<string, CsdlProperty>();
      const inner = match[4] ?? "";
      for (const property of inner.matchAll(/<(Property|NavigationProperty)\b([^>]*?)\/?>/g)) {
        const propertyAttributes = attributes(property[2]!);
        properties.set(propertyAttributes.Name!, {
          name: propertyAttributes.Name!,
          type: qualifyType(propertyAttributes.Type!),
          nullable: propertyAttributes.Nullable !== "false",
          navigation: property[1] === "NavigationProperty",
        });
      }
      const fullName = `${namespace}.${typeAttributes.Name}`;
      model.types.set(fullName.toLowerCase(), {
        kind: match[1] === "EntityType" ? "entity" : "complex",
        fullName,
        baseType: typeAttributes.BaseType ? qualify(typeAttributes.BaseType) : null,
        openType: typeAttributes.OpenType === "true",
        properties,
      });
    }
    for (const match of body.matchAll(/<EnumType\b([^>]*?)>([\s\S]*?)<\/EnumType>/g)) {
      const enumAttributes = attributes(match[1]!);
      const members = new Set<string>();
      for (const member of match[2]!.matchAll(/<Member\b([^>]*?)\/?>/g))
        members.add(attributes(member[1]!).Name!);
      const fullName = `${namespace}.${enumAttributes.Name}`;
      model.enums.set(fullName.toLowerCase(), {
        fullName,
        members,
        isFlags: enumAttributes.IsFlags === "true",
      });
    }
  }
  return model;
}

/** A type and its bases, most derived first (message → outlookItem → entity). */
export function lineage(model: CsdlModel, fullName: string): CsdlStructuredType[] {
  const chain: CsdlStructuredType[] = [];
  for (let name: string | null = fullName; name; ) {
    const type = model.types.get(name.toLowerCase());
    if (!type) throw new Error(`CSDL has no type ${name}`);
    chain.push(type);
    name = type.baseType;
  }
  return chain;
}

export function findProperty(model: CsdlModel, fullName: string, property: string): CsdlProperty | undefined {
  for (const type of lineage(model, fullName)) {
    const found = type.properties.get(property);
    if (found) return found;
  }
  return undefined;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// No repeated groups: contentBytes can be megabytes long and would exhaust the regex stack.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (text: string): boolean => text.length % 4 === 0 && BASE64_CHARS.test(text);

export interface Mismatch {
  path: string;
  problem: string;
}

/**
 * Checks `value` against EDM type `type`. Unknown properties are reported even on OpenType
 * entities (Graph does not emit dynamic properties on mail objects); OpenType complex types
 * without declared properties (resourceData) accept anything.
 */
export function checkValue(
  model: CsdlModel,
  value: unknown,
  type: string,
  path: string,
  nullable: boolean,
  out: Mismatch[],
): void {
  if (value === null) {
    if (!nullable) out.push({ path, problem: `null, but ${type} is Nullable="false"` });
    return;
  }
  const collection = /^Collection\((.*)\)$/.exec(type);
  if (collection) {
    if (!Array.isArray(value)) {
      out.push({ path, problem: `expected an array (${type}), got ${typeof value}` });
      return;
    }
    value.forEach((item, index) => {
      checkValue(model, item, collection[1]!, `${path}[${index}]`, false, out);
    });
    return;
  }
  const expect = (ok: boolean, what: string): void => {
    if (!ok)
      out.push({ path, problem: `expected ${what} for ${type}, got ${JSON.stringify(value)?.slice(0, 80)}` });
  };
  switch (type) {
    case "Edm.String":
    case "Edm.Duration":
      expect(typeof value === "string", "a string");
      return;
    case "Edm.Boolean":
      expect(typeof value === "boolean", "a boolean");
      return;
    case "Edm.Int16":
    case "Edm.Int32":
    case "Edm.Int64":
    case "Edm.Byte":
    case "Edm.SByte":
      expect(typeof value === "number" && Number.isInteger(value), "an integer number");
      return;
    case "Edm.Double":
    case "Edm.Single":
    case "Edm.Decimal":
      expect(typeof value === "number", "a number");
      return;
    case "Edm.DateTimeOffset":
      expect(typeof value === "string" && ISO_DATE_TIME.test(value), "an ISO-8601 date-time string");
      return;
    case "Edm.Date":
      expect(typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value), "a YYYY-MM-DD string");
      return;
    case "Edm.TimeOfDay":
      expect(typeof value === "string" && /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value), "a time string");
      return;
    case "Edm.Guid":
      expect(typeof value === "string" && GUID.test(value), "a GUID string");
      return;
    case "Edm.Binary":
      expect(typeof value === "string" && isBase64(value), "a base64 string");
      return;
    case "Edm.Stream":
      expect(typeof value === "string", "a stream URL string");
      return;
  }
  const enumType = model.enums.get(type.toLowerCase());
  if (enumType) {
    const members = typeof value === "string" ? value.split(",").map((m) => m.trim()) : [];
    const ok =
      typeof value === "string" &&
      (enumType.isFlags ? members.every((m) => enumType.members.has(m)) : enumType.members.has(value));
    expect(ok, `one of ${[...enumType.members].join("|")}`);
    return;
  }
  if (!model.types.has(type.toLowerCase())) {
    out.push({ path, problem: `CSDL has no type ${type}` });
    return;
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    expect(false, "an object");
    return;
  }
  checkObject(model, value as Record<string, unknown>, type, path, out);
}

export function checkObject(
  model: CsdlModel,
  object: Record<string, unknown>,
  declaredType: string,
  path: string,
  out: Mismatch[],
): void {
  let type = declaredType;
  const declared = lineage(model, declaredType);
  // An open type without declared properties (changeNotification.resourceData) is a bag whose
  // @odata.type names the resource it describes, not a subtype of the declared type.
  const isOpenBag = declared.every((t) => t.properties.size === 0) && declared.some((t) => t.openType);
  const odataType = object["@odata.type"];
  if (typeof odataType === "string") {
    // Names resolve case-insensitively: Graph writes `#microsoft.graph.fileAttachment` in
    // responses but change notifications carry `#Microsoft.Graph.Message` (reference §4.3, and
    // the payload samples in change-notifications-delivery-webhooks.md). The CSDL namespace is
    // `microsoft.graph`; exact casing of response annotations is asserted by the tests themselves.
    const named = odataType.replace(/^#/, "");
    const derived = model.types.get(named.toLowerCase());
    if (!derived) out.push({ path, problem: `@odata.type ${odataType} is not a CSDL type` });
    else if (isOpenBag) type = derived.fullName;
    else if (
      !lineage(model, derived.fullName).some((t) => t.fullName.toLowerCase() === declaredType.toLowerCase())
    ) {
      out.push({ path, problem: `@odata.type ${odataType} does not derive from ${declaredType}` });
    } else type = derived.fullName;
  }
  // Without an @odata.type an open bag accepts anything; with one, its properties are checked
  // against the named resource type (resourceData.id must be a message property).
  if (isOpenBag && type === declaredType) return;
  const chain = lineage(model, type);
  for (const [key, value] of Object.entries(object)) {
    if (key.includes("@")) continue; // instance annotations: @odata.etag, contentBytes@odata.mediaContentType …
    const property = findProperty(model, type, key);
    if (!property) {
      out.push({ path: `${path}.${key}`, problem: `not a property of ${chain[0]!.fullName} (or its bases)` });
      continue;
    }
    checkValue(model, value, property.type, `${path}.${key}`, property.nullable, out);
  }
}
