// Evaluates a parsed `$filter` against one message, including any() lambdas over recipients and
// categories.

import { unknownProperty } from "./errors.ts";
import type { EmailAddress, MessageRecord } from "./mailbox-store.ts";
import { scalar } from "./message-values.ts";
import {
  type Comparison,
  type FilterNode,
  invalidFilter,
  type Literal,
  type PropertyKind,
  SCALARS,
} from "./query-filter.ts";

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
