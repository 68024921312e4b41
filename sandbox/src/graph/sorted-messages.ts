// A folder's message list stays sorted newest first, the order Graph lists messages in without
// `$orderby`; inserts and removals keep it sorted by binary search instead of re-sorting.
import type { MessageRecord } from "./mailbox-records.ts";

/** Newest first: receivedAt desc, then ord desc. Negative when `a` sorts before `b`. */
function compareNewestFirst(a: MessageRecord, b: MessageRecord): number {
  return b.receivedAt - a.receivedAt || b.ord - a.ord;
}

export function insertSorted(list: MessageRecord[], message: MessageRecord): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareNewestFirst(list[mid]!, message) < 0) low = mid + 1;
    else high = mid;
  }
  list.splice(low, 0, message);
}

export function removeSorted(list: MessageRecord[], message: MessageRecord): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareNewestFirst(list[mid]!, message) < 0) low = mid + 1;
    else high = mid;
  }
  for (let index = low; index < list.length; index++) {
    if (list[index] === message) {
      list.splice(index, 1);
      return;
    }
    if (list[index]!.receivedAt !== message.receivedAt) break;
  }
  const fallback = list.indexOf(message);
  if (fallback >= 0) list.splice(fallback, 1);
}
