// reply/replyAll/forward and their create* drafts (reference §3.5): the draft Outlook builds, with
// the original quoted below and the threading headers set.
import { escapeHtml, normalizeHtml } from "./body.ts";
import { contextUrl, empty, type GraphResponse, type HandlerContext, json, jsonBody } from "./context.ts";
import { formatAddresses, ownerAddress } from "./delivery.ts";
import { badRequest, GRAPH_MESSAGES, GraphError } from "./errors.ts";
import { childConversationIndex, newAttachmentKey } from "./ids.ts";
import type { EmailAddress, MessageInit, MessageRecord } from "./mailbox-store.ts";
import { parseMessageInput, parseRecipients } from "./message-input.ts";
import { findMessage, renderOne } from "./messages.ts";
import { submitNew } from "./send.ts";

type ReplyKind = "reply" | "replyAll" | "forward";

function prefixSubject(prefix: "RE" | "FW", subject: string): string {
  return new RegExp(`^${prefix}:`, "i").test(subject) ? subject : `${prefix}: ${subject}`;
}

function sameAddress(a: EmailAddress, b: EmailAddress): boolean {
  return a.address.toLowerCase() === b.address.toLowerCase();
}

function uniqueAddresses(list: EmailAddress[], exclude: EmailAddress): EmailAddress[] {
  const out: EmailAddress[] = [];
  for (const entry of list)
    if (!sameAddress(entry, exclude) && !out.some((seen) => sameAddress(seen, entry))) out.push(entry);
  return out;
}

/** The draft Outlook builds for reply/replyAll/forward: quoted original, threading headers. */
function buildResponse(
  ctx: HandlerContext,
  original: MessageRecord,
  kind: ReplyKind,
  input: Record<string, unknown>,
): MessageInit {
  const now = ctx.state.now();
  const owner = ownerAddress(ctx);
  const comment = typeof input.comment === "string" ? input.comment : "";
  const override =
    input.message && typeof input.message === "object"
      ? parseMessageInput(input.message as Record<string, unknown>, now)
      : {};
  if (comment !== "" && override.body) {
    throw badRequest("Cannot specify both a comment and the body of the message parameter.");
  }
  const fromOwner = original.from !== null && sameAddress(original.from, owner);
  let to: EmailAddress[] = [];
  let cc: EmailAddress[] = [];
  if (kind !== "forward") {
    const replyTarget = fromOwner
      ? original.toRecipients
      : original.replyTo.length > 0
        ? original.replyTo
        : original.from
          ? [original.from]
          : [];
    to =
      kind === "replyAll"
        ? uniqueAddresses([...replyTarget, ...original.toRecipients], owner)
        : [...replyTarget];
    if (to.length === 0 && fromOwner) to = [...original.toRecipients];
    cc =
      kind === "replyAll"
        ? uniqueAddresses(original.ccRecipients, owner).filter(
            (entry) => !to.some((t) => sameAddress(t, entry)),
          )
        : [];
  } else {
    to = parseRecipients(input.toRecipients, "toRecipients");
  }
  const quotedHeader = `<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>From:</b> ${escapeHtml(original.from ? `${original.from.name} <${original.from.address}>` : "")}<br><b>Sent:</b> ${escapeHtml(new Date(original.sentAt ?? original.receivedAt).toUTCString())}<br><b>To:</b> ${escapeHtml(formatAddresses(original.toRecipients))}<br><b>Subject:</b> ${escapeHtml(original.subject)}</font><div>&nbsp;</div></div>`;
  const originalHtml =
    original.body.contentType === "html"
      ? original.body.content.replace(/^[\s\S]*?<body[^>]*>/i, "").replace(/<\/body>[\s\S]*$/i, "")
      : `<div>${escapeHtml(original.body.content).replaceAll("\n", "<br>")}</div>`;
  const newPart = override.body
    ? override.body.contentType === "html"
      ? override.body.content.replace(/^[\s\S]*?<body[^>]*>/i, "").replace(/<\/body>[\s\S]*$/i, "")
      : escapeHtml(override.body.content).replaceAll("\n", "<br>")
    : escapeHtml(comment).replaceAll("\n", "<br>");
  const bodyHtml = normalizeHtml(`<div dir="ltr">${newPart}</div>\r\n${quotedHeader}\r\n${originalHtml}`);
  const conversationIndex = childConversationIndex(original.conversationIndex);
  const references = [...original.references, original.internetMessageId].slice(-20);
  const init: MessageInit = {
    subject: override.subject ?? prefixSubject(kind === "forward" ? "FW" : "RE", original.subject),
    body: { contentType: "html", content: bodyHtml },
    uniqueBody: { contentType: "html", content: normalizeHtml(`<div dir="ltr">${newPart}</div>`) },
    toRecipients: override.toRecipients ?? to,
    ccRecipients: override.ccRecipients ?? cc,
    bccRecipients: override.bccRecipients ?? [],
    conversationId: original.conversationId,
    conversationIndex,
    inReplyTo: original.internetMessageId,
    references,
    extendedProperties: override.extendedProperties ?? [],
    importance: override.importance ?? "normal",
    attachments: [
      ...original.attachments
        .filter((attachment) => kind === "forward" || attachment.isInline)
        .map((attachment) => ({ ...attachment, key: newAttachmentKey() })),
      ...(override.attachments ?? []),
    ],
  };
  return init;
}

function responseKind(action: string): ReplyKind {
  const lower = action.toLowerCase();
  if (lower.endsWith("replyall")) return "replyAll";
  if (lower.endsWith("forward")) return "forward";
  return "reply";
}

/** POST …/createReply | createReplyAll | createForward → 201 draft in Drafts. */
export function createResponseDraft(ctx: HandlerContext, action: string): GraphResponse {
  const original = findMessage(ctx, ctx.params.id);
  const init = buildResponse(ctx, original, responseKind(action), jsonBody(ctx));
  const now = ctx.state.now();
  const draft = ctx.store.insertMessage(ctx.store.wellKnownFolder("drafts").id, {
    ...init,
    isDraft: true,
    isRead: true,
    from: null,
    sender: null,
    receivedAt: now,
    sentAt: now,
    createdAt: now,
    lastModifiedAt: now,
  });
  return json(201, { "@odata.context": contextUrl(ctx, "messages/$entity"), ...renderOne(ctx, draft) });
}

/** POST …/reply | replyAll | forward → 202, sent without a visible draft. */
export function sendResponse(ctx: HandlerContext, action: string): GraphResponse {
  const original = findMessage(ctx, ctx.params.id);
  const kind = responseKind(action);
  const input = jsonBody(ctx);
  const init = buildResponse(ctx, original, kind, input);
  if (kind === "forward" && (init.toRecipients ?? []).length === 0) {
    throw new GraphError(400, "ErrorInvalidRecipients", GRAPH_MESSAGES.noRecipients);
  }
  submitNew(ctx, init, true);
  return empty(202);
}
