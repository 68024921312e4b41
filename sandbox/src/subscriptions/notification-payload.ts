// The change notification Graph POSTs for one mail change (reference §4.3): REST or immutable id
// as the subscription asked, a weak etag, and the subscription's clientState and tenant.
import { createHash, randomBytes } from "node:crypto";
import type { MailChangeEvent, SandboxUser } from "../state.ts";
import { graphDateTime } from "./graph-response.ts";
import type { StoredSubscription } from "./model.ts";

export function notificationPayload(
  subscription: StoredSubscription,
  user: SandboxUser,
  event: MailChangeEvent,
): Record<string, unknown> {
  const messageId = subscription.immutableIds ? event.messageId : (event.restId ?? event.messageId);
  const resource = `Users/${user.id}/Messages/${messageId}`;
  // The etag is the message's changeKey in weak form; derive a stable stand-in per change.
  const changeKey = createHash("sha256")
    .update(`${event.messageId}|${event.at}|${event.changeType}`)
    .digest("base64");
  return {
    // Each notification has its own opaque id (reference §4.3 sample; CSDL changeNotification.id).
    id: randomBytes(12).toString("base64url"),
    subscriptionId: subscription.id,
    subscriptionExpirationDateTime: graphDateTime(subscription.expiresAt),
    changeType: event.changeType,
    resource,
    resourceData: {
      "@odata.type": "#Microsoft.Graph.Message",
      "@odata.id": resource,
      "@odata.etag": `W/"CQAAABYAAA${changeKey.slice(0, 22)}"`,
      id: messageId,
    },
    clientState: subscription.clientState,
    tenantId: subscription.tenantId,
  };
}
