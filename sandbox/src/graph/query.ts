// The subset of OData Exchange accepts on messages: `$filter` (comparisons, and/or/not,
// startswith/contains/endswith, any() on recipients and categories), `$orderby` with Exchange's
// "sort properties first in the filter" rule, and KQL-style `$search` (reference §3.3).
import { htmlToText } from "./body.ts";
import { badRequest, GRAPH_MESSAGES, GraphError, unknownProperty } from "./errors.ts";
import type { EmailAddress, MessageRecord } from "./mailbox-store.ts";

type Literal =
  | { type: "string"; value: string }
  | { type: "number"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "null" }
  | { type: "datetime"; value: number };

type Comparison = "eq" | "ne" | "lt" | "gt" | "le" | "ge";

export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; operand: FilterNode }
  | { kind: "cmp"; op: Comparison; path: string; value: Literal }
  | { kind: "fn"; name: "startswith" | "contains" | "endswith"; path: string; value: string }
  | { kind: "any"; collection: string; variable: string; body: FilterNode }
  | { kind: "truthy"; path: string };

type Token =
  | { t: "(" | ")" | "," | ":" }
  | { t: "ident"; v: string }
  | { t: "lit"; v: Literal }
  | { t: "end" };

const DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?/;

function invalidFilter(detail?: string): GraphError {
  return badRequest(detail ? `Invalid filter clause: ${detail}` : "Invalid filter clause");
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < input.length) {
    const char = input[index]!;
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    if (char === "(" || char === ")" || char === "," || char === ":") {
      tokens.push({ t: char });
      index++;
      continue;
    }
    if (char === "'") {
      let value = "";
      index++;
      for (;;) {
        if (index >= input.length) throw invalidFilter("unterminated string literal.");
        const next = input[index]!;
        if (next === "'") {
          if (input[index + 1] === "'") {
            value += "'";
            index += 2;
            continue;
          }
          index++;
          break;
        }
        value += next;
        index++;
      }
      tokens.push({ t: "lit", v: { type: "string", value } });
      continue;
    }
    const rest = input.slice(index);
    const date = DATETIME.exec(rest);
    if (date && /^\d{4}-/.test(rest)) {
      const ms = Date.parse(date[0].length === 10 ? `${date[0]}T00:00:00Z` : date[0]);
      if (Number.isNaN(ms)) throw invalidFilter(`invalid date '${date[0]}'.`);
      tokens.push({ t: "lit", v: { type: "datetime", value: ms } });
      index += date[0].length;
      continue;
    }
    const number = /^-?\d+(\.\d+)?/.exec(rest);
    if (number) {
      tokens.push({ t: "lit", v: { type: "number", value: Number(number[0]) } });
      index += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_./]*/.exec(rest);
    if (ident) {
      const word = ident[0];
      const lower = word.toLowerCase();
      if (lower === "true" || lower === "false")
        tokens.push({ t: "lit", v: { type: "bool", value: lower === "true" } });
      else if (lower === "null") tokens.push({ t: "lit", v: { type: "null" } });
      else tokens.push({ t: "ident", v: word });
      index += word.length;
      continue;
    }
    throw invalidFilter(`unexpected character '${char}' at position ${index}.`);
  }
  tokens.push({ t: "end" });
  return tokens;
}

const COMPARISONS = new Set(["eq", "ne", "lt", "gt", "le", "ge"]);

class Parser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.position]!;
  }
  private next(): Token {
    return this.tokens[this.position++]!;
  }
  private isWord(word: string): boolean {
    const token = this.peek();
    return token.t === "ident" && token.v.toLowerCase() === word;
  }
  private expect(kind: "(" | ")" | "," | ":"): void {
    if (this.next().t !== kind) throw invalidFilter(`expected '${kind}'.`);
  }

  parse(): FilterNode {
    const node = this.or();
    if (this.peek().t !== "end") throw invalidFilter("unexpected trailing input.");
    return node;
  }
  private or(): FilterNode {
    let left = this.and();
    while (this.isWord("or")) {
      this.next();
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }
  private and(): FilterNode {
    let left = this.unary();
    while (this.isWord("and")) {
      this.next();
      left = { kind: "and", left, right: this.unary() };
    }
    return left;
  }
  private unary(): FilterNode {
    if (this.isWord("not")) {
      this.next();
      return { kind: "not", operand: this.unary() };
    }
    return this.primary();
  }
  private literal(): Literal {
    const token = this.next();
    if (token.t !== "lit") throw invalidFilter("expected a literal value.");
    return token.v;
  }
  private primary(): FilterNode {
    const token = this.next();
    if (token.t === "(") {
      const inner = this.or();
      this.expect(")");
      return inner;
    }
    if (token.t !== "ident") throw invalidFilter();
    const lower = token.v.toLowerCase();
    if ((lower === "startswith" || lower === "contains" || lower === "endswith") && this.peek().t === "(") {
      this.next();
      const path = this.next();
      if (path.t !== "ident") throw invalidFilter(`${lower} expects a property.`);
      this.expect(",");
      const value = this.literal();
      if (value.type !== "string") throw invalidFilter(`${lower} expects a string.`);
      this.expect(")");
      return { kind: "fn", name: lower, path: path.v, value: value.value };
    }
    const lambda = /^(.*)\/(any|all)$/i.exec(token.v);
    if (lambda && this.peek().t === "(") {
      this.next();
      const variable = this.next();
      if (variable.t !== "ident") throw invalidFilter("lambda variable expected.");
      this.expect(":");
      const body = this.or();
      this.expect(")");
      if (lambda[2]!.toLowerCase() === "all")
        throw badRequest("The query filter contains one or more invalid nodes.");
      return { kind: "any", collection: lambda[1]!, variable: variable.v, body };
    }
    const operator = this.peek();
    if (operator.t === "ident" && COMPARISONS.has(operator.v.toLowerCase())) {
      this.next();
      return {
        kind: "cmp",
        op: operator.v.toLowerCase() as Comparison,
        path: token.v,
        value: this.literal(),
      };
    }
    return { kind: "truthy", path: token.v };
  }
}

type PropertyKind = "datetime" | "bool" | "string";
const SCALARS: Record<string, PropertyKind> = {
  receiveddatetime: "datetime",
  sentdatetime: "datetime",
  createddatetime: "datetime",
  lastmodifieddatetime: "datetime",
  isread: "bool",
  isdraft: "bool",
  hasattachments: "bool",
  isdeliveryreceiptrequested: "bool",
  isreadreceiptrequested: "bool",
  subject: "string",
  conversationid: "string",
  internetmessageid: "string",
  parentfolderid: "string",
  importance: "string",
  inferenceclassification: "string",
  bodypreview: "string",
  id: "string",
  "from/emailaddress/address": "string",
  "from/emailaddress/name": "string",
  "sender/emailaddress/address": "string",
  "sender/emailaddress/name": "string",
  "flag/flagstatus": "string",
  "body/content": "string",
};
const COLLECTIONS = new Set(["torecipients", "ccrecipients", "bccrecipients", "replyto", "categories"]);

function checkPath(path: string): void {
  const lower = path.toLowerCase();
  if (SCALARS[lower] === undefined) throw unknownProperty(path.split("/")[0]!);
}

/** Parses `$filter` and rejects unknown properties (400, as Graph). */
export function parseFilter(raw: string): FilterNode {
  const node = new Parser(tokenize(raw)).parse();
  const visit = (current: FilterNode, lambdaVariable: string | null): void => {
    switch (current.kind) {
      case "and":
      case "or":
        visit(current.left, lambdaVariable);
        visit(current.right, lambdaVariable);
        return;
      case "not":
        visit(current.operand, lambdaVariable);
        return;
      case "any":
        if (!COLLECTIONS.has(current.collection.toLowerCase())) throw unknownProperty(current.collection);
        visit(current.body, current.variable);
        return;
      default:
        if (
          lambdaVariable &&
          (current.path === lambdaVariable || current.path.startsWith(`${lambdaVariable}/`))
        )
          return;
        checkPath(current.path);
    }
  };
  visit(node, null);
  return node;
}

/** Filter properties in order of first appearance (for the $orderby rule). */
export function filterProperties(node: FilterNode): string[] {
  const seen: string[] = [];
  const add = (path: string): void => {
    const lower = path.toLowerCase();
    if (!seen.includes(lower)) seen.push(lower);
  };
  const visit = (current: FilterNode): void => {
    switch (current.kind) {
      case "and":
      case "or":
        visit(current.left);
        visit(current.right);
        return;
      case "not":
        visit(current.operand);
        return;
      case "any":
        add(current.collection);
        return;
      default:
        add(current.path);
    }
  };
  visit(node);
  return seen;
}

export interface OrderBy {
  path: string;
  descending: boolean;
}

export function parseOrderBy(raw: string): OrderBy[] {
  const order: OrderBy[] = [];
  for (const part of raw.split(",")) {
    const [path, direction, extra] = part.trim().split(/\s+/);
    if (!path || extra !== undefined) throw badRequest(`Invalid $orderby: '${raw}'.`);
    checkPath(path);
    const dir = direction?.toLowerCase() ?? "asc";
    if (dir !== "asc" && dir !== "desc") throw badRequest(`Invalid $orderby: '${raw}'.`);
    order.push({ path, descending: dir === "desc" });
  }
  return order;
}

/** Exchange: $orderby properties must lead the $filter, in the same order (reference §3.3). */
export function assertEfficient(filter: FilterNode, order: OrderBy[]): void {
  const properties = filterProperties(filter);
  order.forEach((entry, index) => {
    if (properties[index] !== entry.path.toLowerCase()) {
      throw new GraphError(400, "InefficientFilter", GRAPH_MESSAGES.inefficientFilter);
    }
  });
}

const textCache = new WeakMap<MessageRecord, { changeKey: string; text: string }>();
export function bodyText(message: MessageRecord): string {
  const cached = textCache.get(message);
  if (cached && cached.changeKey === message.changeKey) return cached.text;
  const text = (
    message.body.contentType === "html" ? htmlToText(message.body.content) : message.body.content
  ).toLowerCase();
  textCache.set(message, { changeKey: message.changeKey, text });
  return text;
}

function scalar(message: MessageRecord, path: string): string | number | boolean | null {
  switch (path.toLowerCase()) {
    case "receiveddatetime":
      return message.receivedAt;
    case "sentdatetime":
      return message.sentAt;
    case "createddatetime":
      return message.createdAt;
    case "lastmodifieddatetime":
      return message.lastModifiedAt;
    case "isread":
      return message.isRead;
    case "isdraft":
      return message.isDraft;
    case "hasattachments":
      return message.attachments.some((attachment) => !attachment.isInline);
    case "isdeliveryreceiptrequested":
      return message.isDeliveryReceiptRequested;
    case "isreadreceiptrequested":
      return message.isReadReceiptRequested;
    case "subject":
      return message.subject;
    case "conversationid":
      return message.conversationId;
    case "internetmessageid":
      return message.internetMessageId;
    case "parentfolderid":
      return message.folderId;
    case "importance":
      return message.importance;
    case "inferenceclassification":
      return message.inferenceClassification;
    case "bodypreview":
      return bodyText(message).slice(0, 255);
    case "body/content":
      return bodyText(message);
    case "from/emailaddress/address":
      return message.from?.address ?? null;
    case "from/emailaddress/name":
      return message.from?.name ?? null;
    case "sender/emailaddress/address":
      return message.sender?.address ?? null;
    case "sender/emailaddress/name":
      return message.sender?.name ?? null;
    case "flag/flagstatus":
      return message.flag.flagStatus;
    default:
      return null;
  }
}

function literalValue(literal: Literal, kind: PropertyKind | "any"): string | number | boolean | null {
  switch (literal.type) {
    case "null":
      return null;
    case "datetime":
      return literal.value;
    case "string":
      if (kind === "datetime") {
        const ms = Date.parse(literal.value);
        if (Number.isNaN(ms)) throw invalidFilter(`invalid date '${literal.value}'.`);
        return ms;
      }
      return literal.value.toLowerCase();
    default:
      return literal.value;
  }
}

function compare(
  left: string | number | boolean | null,
  op: Comparison,
  right: string | number | boolean | null,
): boolean {
  const l = typeof left === "string" ? left.toLowerCase() : left;
  if (op === "eq") return l === right;
  if (op === "ne") return l !== right;
  if (l === null || right === null) return false;
  if (op === "lt") return l < right;
  if (op === "gt") return l > right;
  if (op === "le") return l <= right;
  return l >= right;
}

type LambdaItem = EmailAddress | string;

function lambdaValue(item: LambdaItem, variable: string, path: string): string | null {
  if (path === variable) return typeof item === "string" ? item : null;
  if (typeof item === "string") return null;
  const rest = path.slice(variable.length + 1).toLowerCase();
  if (rest === "emailaddress/address") return item.address;
  if (rest === "emailaddress/name") return item.name;
  throw unknownProperty(rest.split("/")[0] ?? rest, "microsoft.graph.recipient");
}

function evaluateLambda(
  node: FilterNode,
  item: LambdaItem,
  variable: string,
  message: MessageRecord,
): boolean {
  switch (node.kind) {
    case "and":
      return (
        evaluateLambda(node.left, item, variable, message) &&
        evaluateLambda(node.right, item, variable, message)
      );
    case "or":
      return (
        evaluateLambda(node.left, item, variable, message) ||
        evaluateLambda(node.right, item, variable, message)
      );
    case "not":
      return !evaluateLambda(node.operand, item, variable, message);
    case "cmp":
      if (node.path !== variable && !node.path.startsWith(`${variable}/`)) return evaluate(node, message);
      return compare(lambdaValue(item, variable, node.path), node.op, literalValue(node.value, "string"));
    case "fn": {
      if (node.path !== variable && !node.path.startsWith(`${variable}/`)) return evaluate(node, message);
      const value = lambdaValue(item, variable, node.path)?.toLowerCase() ?? "";
      return stringFunction(node.name, value, node.value.toLowerCase());
    }
    default:
      return evaluate(node, message);
  }
}

function stringFunction(
  name: "startswith" | "contains" | "endswith",
  value: string,
  needle: string,
): boolean {
  if (name === "startswith") return value.startsWith(needle);
  if (name === "endswith") return value.endsWith(needle);
  return value.includes(needle);
}

export function evaluate(
  node: FilterNode,
  message: MessageRecord,
  ids?: (message: MessageRecord) => string[],
): boolean {
  switch (node.kind) {
    case "and":
      return evaluate(node.left, message, ids) && evaluate(node.right, message, ids);
    case "or":
      return evaluate(node.left, message, ids) || evaluate(node.right, message, ids);
    case "not":
      return !evaluate(node.operand, message, ids);
    case "truthy":
      return scalar(message, node.path) === true;
    case "fn": {
      const value = scalar(message, node.path);
      return stringFunction(
        node.name,
        typeof value === "string" ? value.toLowerCase() : "",
        node.value.toLowerCase(),
      );
    }
    case "cmp": {
      const path = node.path.toLowerCase();
      const kind = SCALARS[path] ?? "string";
      if (path === "id") {
        const wanted = node.value.type === "string" ? node.value.value : "";
        const matches = [message.restId, message.immutableId].includes(wanted);
        return node.op === "ne" ? !matches : matches;
      }
      if (kind === "string" && node.value.type === "string" && path !== "parentfolderid") {
        return compare(scalar(message, path), node.op, node.value.value.toLowerCase());
      }
      if (path === "parentfolderid" && node.value.type === "string") {
        return compare(message.folderId.toLowerCase(), node.op, node.value.value.toLowerCase());
      }
      return compare(scalar(message, path), node.op, literalValue(node.value, kind));
    }
    case "any": {
      const collection = node.collection.toLowerCase();
      const items: LambdaItem[] =
        collection === "categories"
          ? message.categories
          : collection === "torecipients"
            ? message.toRecipients
            : collection === "ccrecipients"
              ? message.ccRecipients
              : collection === "bccrecipients"
                ? message.bccRecipients
                : message.replyTo;
      return items.some((item) => evaluateLambda(node.body, item, node.variable, message));
    }
  }
}

export function sortMessages(messages: MessageRecord[], order: OrderBy[]): MessageRecord[] {
  return [...messages].sort((a, b) => {
    for (const entry of order) {
      const left = scalar(a, entry.path);
      const right = scalar(b, entry.path);
      if (left === right) continue;
      if (left === null) return entry.descending ? 1 : -1;
      if (right === null) return entry.descending ? -1 : 1;
      const normalizedLeft = typeof left === "string" ? left.toLowerCase() : left;
      const normalizedRight = typeof right === "string" ? right.toLowerCase() : right;
      if (normalizedLeft === normalizedRight) continue;
      const less = normalizedLeft < normalizedRight;
      return (less ? -1 : 1) * (entry.descending ? -1 : 1);
    }
    return b.receivedAt - a.receivedAt || b.ord - a.ord;
  });
}

// ---- $search (KQL subset) ----

type SearchTerm = { field: string | null; value: string; negate: boolean };
export type SearchQuery = SearchTerm[][]; // OR of AND-groups

export function parseSearch(raw: string): SearchQuery {
  const trimmed = raw.trim();
  if (trimmed.length < 2 || !trimmed.startsWith('"') || !trimmed.endsWith('"')) {
    throw badRequest("Syntax error: the $search value must be enclosed in double quotes.");
  }
  const inner = trimmed.slice(1, -1);
  const groups: SearchQuery = [[]];
  const pattern = /(-?)(?:([A-Za-z]+):)?(?:'([^']*)'|\\"([^"]*)\\"|(\S+))/g;
  for (const match of inner.matchAll(pattern)) {
    const value = match[3] ?? match[4] ?? match[5] ?? "";
    if (!match[2] && value === "OR") {
      groups.push([]);
      continue;
    }
    if (!match[2] && value === "AND") continue;
    groups[groups.length - 1]!.push({
      field: match[2]?.toLowerCase() ?? null,
      value: value.toLowerCase(),
      negate: match[1] === "-",
    });
  }
  return groups.filter((group) => group.length > 0);
}

function addressText(addresses: (EmailAddress | null)[]): string {
  return addresses
    .filter((address): address is EmailAddress => address !== null)
    .map((address) => `${address.name} ${address.address}`)
    .join(" ")
    .toLowerCase();
}

function termMatches(term: SearchTerm, message: MessageRecord): boolean {
  const { value } = term;
  switch (term.field) {
    case "from":
      return addressText([message.from]).includes(value);
    case "to":
      return addressText(message.toRecipients).includes(value);
    case "cc":
      return addressText(message.ccRecipients).includes(value);
    case "bcc":
      return addressText(message.bccRecipients).includes(value);
    case "participants":
    case "recipients":
      return addressText([
        message.from,
        ...message.toRecipients,
        ...message.ccRecipients,
        ...message.bccRecipients,
      ]).includes(value);
    case "subject":
      return message.subject.toLowerCase().includes(value);
    case "body":
      return bodyText(message).includes(value);
    case "attachment":
    case "attachmentnames":
      return message.attachments.some((attachment) => attachment.name.toLowerCase().includes(value));
    case "hasattachment":
    case "hasattachments":
      return message.attachments.some((attachment) => !attachment.isInline) === (value === "true");
    case "isread":
      return message.isRead === (value === "true");
    case "received":
    case "sent": {
      const at = term.field === "received" ? message.receivedAt : (message.sentAt ?? 0);
      const range = /^(>=|<=|>|<)?(\d{4}-\d{2}-\d{2})$/.exec(value);
      if (!range) return false;
      const day = Date.parse(`${range[2]}T00:00:00Z`);
      const op = range[1] ?? "=";
      if (op === ">=") return at >= day;
      if (op === ">") return at >= day + 86_400_000;
      if (op === "<=") return at < day + 86_400_000;
      if (op === "<") return at < day;
      return at >= day && at < day + 86_400_000;
    }
    case null:
      return (
        message.subject.toLowerCase().includes(value) ||
        addressText([message.from]).includes(value) ||
        bodyText(message).includes(value)
      );
    default:
      return false;
  }
}

export function matchesSearch(query: SearchQuery, message: MessageRecord): boolean {
  return query.some((group) => group.every((term) => termMatches(term, message) !== term.negate));
}
