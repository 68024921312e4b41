// OData `$filter` as Exchange accepts it on messages: tokenizer, recursive-descent parser, and the
// property check that turns an unknown property into Graph's 400 (reference §3.3).
import { badRequest, type GraphError, unknownProperty } from "./errors.ts";

export type Literal =
  | { type: "string"; value: string }
  | { type: "number"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "null" }
  | { type: "datetime"; value: number };

export type Comparison = "eq" | "ne" | "lt" | "gt" | "le" | "ge";

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

export function invalidFilter(detail?: string): GraphError {
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

export type PropertyKind = "datetime" | "bool" | "string";
export const SCALARS: Record<string, PropertyKind> = {
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

export function checkPath(path: string): void {
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
