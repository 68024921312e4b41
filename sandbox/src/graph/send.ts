import { empty, type GraphResponse, type HandlerContext, jsonBody } from "./context.ts";
import { sendingAddress } from "./delegation.ts";
import {
  deliverToRecipients,
  type Outgoing,
  ownerAddress,
  scheduleDelivery,
  transportHeaders,
  validateRecipients,
} from "./delivery.ts";
import { badRequest, GRAPH_MESSAGES, GraphError } from "./errors.ts";
import { conversationIdFromIndex, newConversationIndex, newInternetMessageId } from "./ids.ts";
import type { MessageInit, MessageRecord } from "./mailbox-store.ts";
import { parseMessageInput } from "./message-input.ts";
import { findMessage, isMimeRequest } from "./messages.ts";
import { parseMimeMessage } from "./mime-input.ts";

export { deliverToRecipients, validateRecipients } from "./delivery.ts";

function assertSendable(ctx: HandlerContext, message: MessageInit): void {
  validateRecipients(message);
  const size =
    Buffer.byteLength(message.body?.content ?? "") +
    (message.attachments ?? []).reduce((total, attachment) => total + attachment.content.length, 0);
  if (size > ctx.store.maxMessageBytes)
    throw new GraphError(400, "ErrorMessageSizeExceeded", GRAPH_MESSAGES.messageSizeExceeded);
}

/** Submits a new (not stored) message: Sent Items copy if asked, then delivery. */
export function submitNew(ctx: HandlerContext, init: MessageInit, saveToSentItems: boolean): void {
  assertSendable(ctx, init);
  const from = sendingAddress(ctx, init.from);
  const now = ctx.state.now();
  const conversationIndex = init.conversationIndex ?? newConversationIndex(now);
  const outgoing: Outgoing = {
    ...init,
    from,
    sender: from,
    internetMessageId: init.internetMessageId ?? newInternetMessageId(),
    conversationIndex,
    conversationId: init.conversationId ?? conversationIdFromIndex(conversationIndex),
    sentAt: now,
    receivedAt: now,
    isDraft: false,
  };
  const store = ctx.store;
  const owner = ownerAddress(ctx);
  scheduleDelivery(ctx.state, () => {
    if (saveToSentItems) {
      store.insertMessage(store.wellKnownFolder("sentitems").id, {
        ...outgoing,
        isRead: true,
        headers: transportHeaders(outgoing, now),
      });
    }
    deliverToRecipients(ctx.state, outgoing, { store, address: owner });
  });
}

/** Sends a stored draft: it becomes the Sent Items copy (same immutable id, reference §3.7). */
function submitDraft(ctx: HandlerContext, draft: MessageRecord): void {
  assertSendable(ctx, draft);
  const store = ctx.store;
  const owner = ownerAddress(ctx);
  const from = sendingAddress(ctx, draft.from);
  scheduleDelivery(ctx.state, () => {
    if (!store.resolveMessage(draft.immutableId)) return;
    const now = ctx.state.now();
    store.updateMessage(draft, (target) => {
      target.isDraft = false;
      target.isRead = true;
      target.from = from;
      target.sender = from;
      target.sentAt = now;
      target.receivedAt = now;
    });
    const outgoing: Outgoing = { ...draft, attachments: draft.attachments };
    draft.headers = transportHeaders(outgoing, now);
    store.moveMessage(draft, store.wellKnownFolder("sentitems"));
    deliverToRecipients(ctx.state, outgoing, { store, address: owner });
  });
}

export function sendMail(ctx: HandlerContext): GraphResponse | Promise<GraphResponse> {
  if (isMimeRequest(ctx)) return sendMime(ctx);
  const body = jsonBody(ctx);
  if (!body.message || typeof body.message !== "object")
    throw badRequest("Empty Payload. JSON content expected.");
  const init = parseMessageInput(body.message as Record<string, unknown>, ctx.state.now());
  submitNew(ctx, init, body.saveToSentItems !== false && body.saveToSentItems !== "false");
  return empty(202);
}

/** sendMail with a base64 MIME body (Content-Type: text/plain): its internet headers are kept. */
async function sendMime(ctx: HandlerContext): Promise<GraphResponse> {
  const init = await parseMimeMessage(ctx.request.body, ctx.store, ctx.state.now());
  submitNew(ctx, init, true);
  return empty(202);
}

export function sendDraft(ctx: HandlerContext): GraphResponse {
  const draft = findMessage(ctx, ctx.params.id);
  if (!draft.isDraft) {
    throw new GraphError(400, "ErrorInvalidOperation", "Only draft messages can be sent.");
  }
  submitDraft(ctx, draft);
  return empty(202);
}
