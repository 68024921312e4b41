// Sending: sendMail (JSON or base64 MIME) and draft /send (reference §3.5). Graph answers 202
// before the message is delivered, so delivery runs on the next turn of the event loop; Sent Items
// and the recipients' Inboxes fill then. Reply/forward drafts are built in replies.ts; transport
// lives in delivery.ts.
import { normalizeHtml } from "./body.ts";
import { empty, type GraphResponse, type HandlerContext, jsonBody } from "./context.ts";
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
import type { EmailAddress, MessageInit, MessageRecord } from "./mailbox-store.ts";
import { parseMessageInput } from "./message-input.ts";
import { findMessage } from "./messages.ts";

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
  const now = ctx.state.now();
  const conversationIndex = init.conversationIndex ?? newConversationIndex(now);
  const outgoing: Outgoing = {
    ...init,
    from: ownerAddress(ctx),
    sender: ownerAddress(ctx),
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
  scheduleDelivery(ctx.state, () => {
    if (!store.resolveMessage(draft.immutableId)) return;
    const now = ctx.state.now();
    store.updateMessage(draft, (target) => {
      target.isDraft = false;
      target.isRead = true;
      target.from = owner;
      target.sender = owner;
      target.sentAt = now;
      target.receivedAt = now;
    });
    const outgoing: Outgoing = { ...draft, attachments: draft.attachments };
    draft.headers = transportHeaders(outgoing, now);
    store.moveMessage(draft, store.wellKnownFolder("sentitems"));
    deliverToRecipients(ctx.state, outgoing, { store, address: owner });
  });
}

export function sendMail(ctx: HandlerContext): GraphResponse {
  const contentType = (ctx.request.headers["content-type"] ?? "").toLowerCase();
  if (contentType.startsWith("text/plain")) return sendMime(ctx);
  const body = jsonBody(ctx);
  if (!body.message || typeof body.message !== "object")
    throw badRequest("Empty Payload. JSON content expected.");
  const init = parseMessageInput(body.message as Record<string, unknown>, ctx.state.now());
  submitNew(ctx, init, body.saveToSentItems !== false && body.saveToSentItems !== "false");
  return empty(202);
}

/** sendMail with a base64 MIME body (Content-Type: text/plain). */
function sendMime(ctx: HandlerContext): GraphResponse {
  const text = (ctx.request.body ?? Buffer.alloc(0)).toString("latin1").replace(/\s+/g, "");
  if (text === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new GraphError(
      400,
      "ErrorMimeContentInvalidBase64String",
      "Invalid base64 string for MIME content.",
    );
  }
  const mime = Buffer.from(text, "base64").toString("utf8");
  const split = mime.search(/\r?\n\r?\n/);
  const head = split >= 0 ? mime.slice(0, split) : mime;
  const content = split >= 0 ? mime.slice(split).replace(/^\r?\n\r?\n/, "") : "";
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const addresses = (value: string | undefined): EmailAddress[] =>
    (value ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "")
      .map((part) => {
        const match = /^(.*)<([^>]+)>$/.exec(part);
        const address = (match?.[2] ?? part).trim();
        const name = (match?.[1] ?? "").trim().replace(/^"|"$/g, "");
        return { name: name || address, address };
      });
  const isHtml = /text\/html/i.test(headers.get("content-type") ?? "");
  submitNew(
    ctx,
    {
      subject: headers.get("subject") ?? "",
      toRecipients: addresses(headers.get("to")),
      ccRecipients: addresses(headers.get("cc")),
      bccRecipients: addresses(headers.get("bcc")),
      body: isHtml
        ? { contentType: "html", content: normalizeHtml(content) }
        : { contentType: "text", content },
      ...(headers.get("message-id") ? { internetMessageId: headers.get("message-id")! } : {}),
      ...(headers.get("in-reply-to") ? { inReplyTo: headers.get("in-reply-to")! } : {}),
    },
    true,
  );
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
