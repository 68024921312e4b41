// The MAPI properties Mailroom reads and writes through Graph's `singleValueExtendedProperties`
// (Graph v1.0: a navigation property of message; entities `{id, value}` with `value` a string).
// A message without any of the asked properties has no `singleValueExtendedProperties` member.
import type { GraphMessage } from "./graph-types.ts";
import { odataString } from "./odata.ts";

/**
 * Mailroom's mark on mail sent through its API: a String named property in Mailroom's own property
 * set (a GUID no one else uses), set on the draft before `/send`. It never changes afterwards, so it
 * costs no change-key churn and survives moves.
 */
export const SENT_MARK_PROPERTY = "String {8f3b6c2e-4d1a-4e57-9b0c-6a2f1d7e5c93} Name MailroomTrackingId";
/** PidTagInReplyToId: the In-Reply-To of the message (MS-OXPROPS 2.736); Graph v1.0 has no inReplyTo. */
export const IN_REPLY_TO_PROPERTY = "String 0x1042";

/** `$expand` of both properties, for list and get. */
export const EXPAND_MARKS = `singleValueExtendedProperties($filter=${[
  SENT_MARK_PROPERTY,
  IN_REPLY_TO_PROPERTY,
]
  .map((id) => `id eq ${odataString(id)}`)
  .join(" or ")})`;

/** An extended property's value; ids compare case-insensitively (Graph may spell the GUID or tag in another case). */
export function extendedProperty(message: GraphMessage, id: string): string | undefined {
  const wanted = id.toLowerCase();
  for (const property of message.singleValueExtendedProperties ?? [])
    if (property.id.toLowerCase() === wanted && typeof property.value === "string") return property.value;
  return undefined;
}

/** The property's body member for a draft create or PATCH. */
export function extendedPropertyBody(id: string, value: string): { id: string; value: string }[] {
  return [{ id, value }];
}
