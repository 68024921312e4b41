// Sending: sendMail, draft /send, reply/replyAll/forward and their create* drafts (reference §3.5),
// plus delivery between sandbox mailboxes. Graph answers 202 before the message is delivered, so
// delivery runs on the next turn of the event loop; Sent Items and the recipients' Inboxes fill then.
import type { SandboxState } from "../state.ts";
import { escapeHtml, normalizeHtml } from "./body.ts";
import { contextUrl, empty, type GraphResponse, type HandlerContext, json, jsonBody } from "./context.ts";
import { badRequest, GRAPH_MESSAGES, GraphError, unresolvedRecipient } from "./errors.ts";
import {
  childConversationIndex,
  conversationIdFromIndex,
  newAttachmentKey,
  newConversationIndex,
  newInternetMessageId,
} from "./ids.ts";
import {
  type EmailAddress,
  type MailboxStore,
  type MessageInit,
  type MessageRecord,
  mailboxes,
} from "./mailbox-store.ts";
import { parseMessageInput, parseRecipients } from "./message-input.ts";
import { findMessage, renderOne } from "./messages.ts";

const ADDRESS = /^[^@\s<>()",;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

function ownerAddress(ctx: { user: { email: string; displayName: string } }): EmailAddress {
  return { name: ctx.user.displayName, address: ctx.user.email };
}

function formatAddresses(addresses: EmailAddress[]): string {
  return addresses
    .map((entry) =>
      entry.name && entry.name !== entry.address ? `${entry.name} <${entry.address}>` : entry.address,
    )
    .join(", ");
}

function transportHeaders(
  message: MessageInit & { internetMessageId: string },
  sentAt: number,
): { name: string; value: string }[] {
  const headers = [
    {
      name: "Received",
      value: `from AM0PR07MB4417.eurprd07.prod.outlook.com by AM0PR07MB4417.eurprd07.prod.outlook.com with HTTPS; ${new Date(sentAt).toUTCString()}`,
    },
    { name: "From", value: message.from ? formatAddresses([message.from]) : "" },
    { name: "To", value: formatAddresses(message.toRecipients ?? []) },
  ];
  if ((message.ccRecipients ?? []).length > 0)
    headers.push({ name: "CC", value: formatAddresses(message.ccRecipients ?? []) });
  headers.push(
    { name: "Subject", value: message.subject ?? "" },
    { name: "Thread-Topic", value: (message.subject ?? "").replace(/^((re|fw|fwd):\s*)+/i, "") },
    { name: "Date", value: new Date(sentAt).toUTCString().replace("GMT", "+0000") },
    { name: "Message-ID", value: message.internetMessageId },
  );
  if (message.inReplyTo) headers.push({ name: "In-Reply-To", value: message.inReplyTo });
  if ((message.references ?? []).length > 0)
    headers.push({ name: "References", value: (message.references ?? []).join(" ") });
  if (message.conversationIndex) headers.push({ name: "Thread-Index", value: message.conversationIndex });
  headers.push(
    {
      name: "Content-Type",
      value:
        message.body?.contentType === "html" ? 'text/html; charset="utf-8"' : 'text/plain; charset="utf-8"',
    },
    { name: "MIME-Version", value: "1.0" },
    { name: "X-MS-Has-Attach", value: (message.attachments ?? []).some((a) => !a.isInline) ? "yes" : "" },
    { name: "X-MS-Exchange-Organization-SCL", value: "1" },
  );
  for (const custom of message.headers ?? []) if (/^x-/i.test(custom.name)) headers.push(custom);
  return headers;
}

function sandboxDomains(state: SandboxState): Set<string> {
  const domains = new Set<string>();
  for (const tenant of state.tenants.values()) domains.add(tenant.domain.toLowerCase());
  for (const user of state.users.values()) {
    const domain = user.email.split("@")[1];
    if (domain) domains.add(domain.toLowerCase());
  }
  return domains;
}

export function validateRecipients(message: {
  toRecipients?: EmailAddress[];
  ccRecipients?: EmailAddress[];
  bccRecipients?: EmailAddress[];
}): void {
  const all = [
    ...(message.toRecipients ?? []),
    ...(message.ccRecipients ?? []),
    ...(message.bccRecipients ?? []),
  ];
  if (all.length === 0) throw new GraphError(400, "ErrorInvalidRecipients", GRAPH_MESSAGES.noRecipients);
  if (all.length > 500)
    throw new GraphError(400, "ErrorTooManyRecipients", "The message has too many recipients.");
  for (const recipient of all)
    if (!ADDRESS.test(recipient.address)) throw unresolvedRecipient(recipient.address || recipient.name);
}

interface Outgoing extends MessageInit {
  internetMessageId: string;
  conversationIndex: string;
  conversationId: string;
}

/**
 * Delivers a sent message: a copy into each sandbox recipient's Inbox (new ids, same
 * internetMessageId and conversationId, no Bcc), an NDR to the sender for unknown addresses in
 * sandbox domains. External recipients are accepted silently. Returns the recipient copies.
 */
export function deliverToRecipients(
  state: SandboxState,
  message: Outgoing,
  sender: { store: MailboxStore | null; address: EmailAddress },
): { userId: string; email: string; message: MessageRecord }[] {
  const registry = mailboxes(state);
  const domains = sandboxDomains(state);
  const now = state.now();
  const delivered: { userId: string; email: string; message: MessageRecord }[] = [];
  const seen = new Set<string>();
  const recipients = [
    ...(message.toRecipients ?? []),
    ...(message.ccRecipients ?? []),
    ...(message.bccRecipients ?? []),
  ];
  for (const recipient of recipients) {
    const address = recipient.address.toLowerCase();
    if (seen.has(address)) continue;
    seen.add(address);
    const user = state.userByEmail(address);
    if (user?.hasMailbox && !user.disabled) {
      const store = registry.get(user.id);
      const copy = store.insertMessage(store.wellKnownFolder("inbox").id, {
        ...message,
        bccRecipients: [],
        isRead: false,
        isDraft: false,
        receivedAt: now,
        createdAt: now,
        lastModifiedAt: now,
        categories: [],
        flag: { flagStatus: "notFlagged" },
        inferenceClassification: "focused",
        headers: transportHeaders(message, message.sentAt ?? now),
        attachments: (message.attachments ?? []).map((attachment) => ({
          ...attachment,
          key: newAttachmentKey(),
        })),
      });
      delivered.push({ userId: user.id, email: user.email, message: copy });
    } else if (sender.store && domains.has(address.split("@")[1] ?? "")) {
      sender.store.insertMessage(
        sender.store.wellKnownFolder("inbox").id,
        nonDeliveryReport(message, recipient, sender.address, now),
      );
    }
  }
  return delivered;
}

function nonDeliveryReport(
  message: Outgoing,
  recipient: EmailAddress,
  sender: EmailAddress,
  now: number,
): MessageInit {
  const domain = sender.address.split("@")[1] ?? "outlook.com";
  const postmaster = {
    name: "Microsoft Outlook",
    address: `MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@${domain}`,
  };
  const html = `<p><b><font color="#000066" size="3" face="Arial">Your message to ${escapeHtml(recipient.address)} couldn't be delivered.</font></b></p>
<p>${escapeHtml(recipient.address)} wasn't found at ${escapeHtml(recipient.address.split("@")[1] ?? "")}.</p>
<p>Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'</p>
<p>Original message headers:</p><pre>Subject: ${escapeHtml(message.subject ?? "")}
Message-ID: ${escapeHtml(message.internetMessageId)}</pre>`;
  return {
    subject: `Undeliverable: ${message.subject ?? ""}`,
    body: { contentType: "html", content: normalizeHtml(html) },
    from: postmaster,
    sender: postmaster,
    toRecipients: [sender],
    receivedAt: now,
    sentAt: now,
    isRead: false,
    importance: "normal",
    conversationId: message.conversationId,
    conversationIndex: childConversationIndex(message.conversationIndex),
    internetMessageId: newInternetMessageId(),
    inReplyTo: message.internetMessageId,
    headers: [
      { name: "Content-Type", value: 'multipart/report; report-type=delivery-status; boundary="sandbox"' },
      { name: "X-MS-Exchange-Message-Is-Ndr", value: "" },
    ],
  };
}

function scheduleDelivery(state: SandboxState, task: () => void): void {
  // Graph returns 202 before transport runs (reference §3.5: "Sent copies appear ... asynchronously").
  setImmediate(() => {
    try {
      task();
    } catch (error) {
      state.events.emit("graph-delivery-error", error);
    }
  });
}

function assertSendable(ctx: HandlerContext, message: MessageInit): void {
  validateRecipients(message);
  const size =
    Buffer.byteLength(message.body?.content ?? "") +
    (message.attachments ?? []).reduce((total, attachment) => total + attachment.content.length, 0);
  if (size > ctx.store.maxMessageBytes)
    throw new GraphError(400, "ErrorMessageSizeExceeded", GRAPH_MESSAGES.messageSizeExceeded);
}

/** Submits a new (not stored) message: Sent Items copy if asked, then delivery. */
function submitNew(ctx: HandlerContext, init: MessageInit, saveToSentItems: boolean): void {
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
