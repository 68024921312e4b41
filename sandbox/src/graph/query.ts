// The subset of OData Exchange accepts on messages: `$filter` (comparisons, and/or/not,
// startswith/contains/endswith, any() on recipients and categories), `$orderby` with Exchange's
// "sort properties first in the filter" rule, and KQL-style `$search` (reference §3.3).
// This module keeps `$orderby` and re-exports the `$filter` and `$search` halves.
import { badRequest, GRAPH_MESSAGES, GraphError } from "./errors.ts";
import type { MessageRecord } from "./mailbox-store.ts";
import { scalar } from "./message-values.ts";
import { checkPath, type FilterNode, filterProperties } from "./query-filter.ts";

export { bodyText } from "./message-values.ts";
export { evaluate } from "./query-evaluate.ts";
export { type FilterNode, filterProperties, parseFilter } from "./query-filter.ts";
export {
  assertSearchable,
  decodeSearchSkipToken,
  encodeSearchSkipToken,
  matchesSearch,
  parseSearch,
  SEARCH_RESULT_LIMIT,
  type SearchQuery,
  searchMessages,
} from "./query-search.ts";

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
