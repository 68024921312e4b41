// Graph JSON for messages, folders and attachments. Property names and types follow the v1.0 CSDL
// (message/outlookItem, mailFolder, attachment/fileAttachment, recipient, itemBody, followupFlag).
import { type BodyPreferences, bodyPreview, renderBody } from "./body.ts";
import { unknownProperty } from "./errors.ts";
import type { MessageExpand } from "./expand.ts";
import { renderExtendedProperties } from "./extended-properties.ts";
import { registerJsonFragment } from "./json.ts";
import type {
  AttachmentRecord,
  EmailAddress,
  FolderRecord,
  MailboxStore,
  MessageRecord,
} from "./mailbox-store.ts";

export interface RenderContext extends BodyPreferences {
  /** `Prefer: IdType="ImmutableId"`. */
  immutableIds: boolean;
}

/** Properties of microsoft.graph.message (incl. outlookItem and entity) as in the CSDL. */
export const MESSAGE_PROPERTIES = [
  "id",
  "createdDateTime",
  "lastModifiedDateTime",
  "changeKey",
  "categories",
  "receivedDateTime",
  "sentDateTime",
  "hasAttachments",
  "internetMessageId",
  "subject",
  "bodyPreview",
  "importance",
  "parentFolderId",
  "conversationId",
  "conversationIndex",
  "isDeliveryReceiptRequested",
  "isReadReceiptRequested",
  "isRead",
  "isDraft",
  "webLink",
  "inferenceClassification",
  "body",
  "uniqueBody",
  "sender",
  "from",
  "toRecipients",
  "ccRecipients",
  "bccRecipients",
  "replyTo",
  "flag",
  "internetMessageHeaders",
] as const;
export type MessageProperty = (typeof MESSAGE_PROPERTIES)[number];
export const MESSAGE_PROPERTY_SET = new Set<string>(MESSAGE_PROPERTIES);
/** Returned only when `$select`ed (reference §3.2). */
const SELECT_ONLY = new Set<string>(["uniqueBody", "internetMessageHeaders"]);
const DEFAULT_PROPERTIES = MESSAGE_PROPERTIES.filter((name) => !SELECT_ONLY.has(name));

export const FOLDER_PROPERTIES = [
  "id",
  "displayName",
  "parentFolderId",
  "childFolderCount",
  "unreadItemCount",
  "totalItemCount",
  "isHidden",
] as const;

/** Parses `$select`; unknown names are a 400 as in Graph. Matching is case-insensitive. */
export function parseSelect(
  raw: string | null,
  properties: readonly string[],
  type: string,
): string[] | null {
  if (raw === null || raw.trim() === "") return null;
  const byLower = new Map(properties.map((name) => [name.toLowerCase(), name]));
  const selected: string[] = [];
  for (const part of raw.split(",")) {
    const name = part.trim();
    if (name === "" || name === "*") continue;
    const canonical = byLower.get(name.toLowerCase());
    if (!canonical) throw unknownProperty(name, type);
    if (!selected.includes(canonical)) selected.push(canonical);
  }
  return selected.length > 0 ? selected : null;
}

export function isMessageProperty(name: string): boolean {
  return MESSAGE_PROPERTY_SET.has(name);
}

export function isoDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function recipient(address: EmailAddress): { emailAddress: { name: string; address: string } } {
  return { emailAddress: { name: address.name, address: address.address } };
}

export function messageId(message: MessageRecord, context: { immutableIds: boolean }): string {
  return context.immutableIds ? message.immutableId : message.restId;
}

export function etag(changeKey: string): string {
  return `W/"${changeKey}"`;
}

function messageProperty(
  store: MailboxStore,
  message: MessageRecord,
  name: MessageProperty,
  context: RenderContext,
): unknown {
  switch (name) {
    case "id":
      return messageId(message, context);
    case "createdDateTime":
      return isoDate(message.createdAt);
    case "lastModifiedDateTime":
      return isoDate(message.lastModifiedAt);
    case "changeKey":
      return message.changeKey;
    case "categories":
      return [...message.categories];
    case "receivedDateTime":
      return isoDate(message.receivedAt);
    case "sentDateTime":
      return message.sentAt === null ? null : isoDate(message.sentAt);
    case "hasAttachments":
      return message.attachments.some((attachment) => !attachment.isInline);
    case "internetMessageId":
      return message.internetMessageId;
    case "subject":
      return message.subject;
    case "bodyPreview":
      return bodyPreview(message.body);
    case "importance":
      return message.importance;
    case "parentFolderId":
      return message.folderId;
    case "conversationId":
      return message.conversationId;
    case "conversationIndex":
      return message.conversationIndex;
    case "isDeliveryReceiptRequested":
      return message.isDeliveryReceiptRequested;
    case "isReadReceiptRequested":
      return message.isReadReceiptRequested;
    case "isRead":
      return message.isRead;
    case "isDraft":
      return message.isDraft;
    case "webLink":
      return `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(messageId(message, context))}&exvsurl=1&viewmodel=ReadMessageItem`;
    case "inferenceClassification":
      return message.inferenceClassification;
    case "body":
      return renderBody(message.body, context);
    case "uniqueBody":
      return renderBody(message.uniqueBody ?? message.body, context);
    case "sender":
      return message.sender ? recipient(message.sender) : null;
    case "from":
      return message.from ? recipient(message.from) : null;
    case "toRecipients":
      return message.toRecipients.map(recipient);
    case "ccRecipients":
      return message.ccRecipients.map(recipient);
    case "bccRecipients":
      return message.bccRecipients.map(recipient);
    case "replyTo":
      return message.replyTo.map(recipient);
    case "flag":
      // A deep copy: the rendering is frozen and must not freeze the record's own objects.
      return structuredClone(message.flag);
    case "internetMessageHeaders":
      // Exchange keeps transport headers only for items that went through transport.
      return message.isDraft
        ? null
        : message.headers.map((header) => ({ name: header.name, value: header.value }));
  }
  void store;
}

/**
 * Rendered messages per record, reused while the record is unchanged. Every change goes through
 * MailboxStore, which gives the record a new changeKey (update, move) or a new restId/folderId
 * (move, soft delete); the stamp covers all three, so a stale rendering is never served.
 */
const renderedMessages = new WeakMap<
  MessageRecord,
  { stamp: string; variants: Map<string, Readonly<Record<string, unknown>>> }
>();
/** Distinct `$select`/Prefer combinations kept per message before the oldest are dropped. */
const MAX_VARIANTS_PER_MESSAGE = 8;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * Graph JSON of a message. The result is frozen and shared between responses (copy it to add
 * properties, e.g. `{ "@odata.context": …, ...renderMessage(…) }`); its JSON text is reused by
 * `stringifyGraphJson`.
 */
export function renderMessage(
  store: MailboxStore,
  message: MessageRecord,
  context: RenderContext,
  select: string[] | null,
  expand: MessageExpand | null = null,
): Record<string, unknown> {
  const stamp = `${message.changeKey}|${message.restId}|${message.folderId}`;
  const variant = `${context.immutableIds}|${context.contentType}|${context.allowUnsafeHtml}|${select?.join(",") ?? "*"}|${expandKey(expand)}`;
  let entry = renderedMessages.get(message);
  if (!entry || entry.stamp !== stamp) {
    entry = { stamp, variants: new Map() };
    renderedMessages.set(message, entry);
  }
  const cached = entry.variants.get(variant);
  if (cached) return cached;
  const rendered = registerJsonFragment(deepFreeze(buildMessage(store, message, context, select, expand)));
  if (entry.variants.size >= MAX_VARIANTS_PER_MESSAGE) {
    const oldest = entry.variants.keys().next().value;
    if (oldest !== undefined) entry.variants.delete(oldest);
  }
  entry.variants.set(variant, rendered);
  return rendered;
}

function expandKey(expand: MessageExpand | null): string {
  if (!expand) return "";
  return expand.order
    .map((name) =>
      name === "attachments"
        ? `att(${expand.attachments?.join(",") ?? "*"})`
        : `svep(${expand.extendedProperties.join("|")})`,
    )
    .join(",");
}

function buildMessage(
  store: MailboxStore,
  message: MessageRecord,
  context: RenderContext,
  select: string[] | null,
  expand: MessageExpand | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = { "@odata.etag": etag(message.changeKey) };
  const names = (
    select ? ["id", ...select.filter((name) => name !== "id")] : DEFAULT_PROPERTIES
  ) as MessageProperty[];
  for (const name of names) {
    const value = messageProperty(store, message, name, context);
    // Drafts have no sender/from until sent; Graph leaves them out of the default projection.
    if (!select && (name === "from" || name === "sender") && value === null) continue;
    out[name] = value;
  }
  // Graph lists expanded navigation properties after the structural ones, in the order asked.
  for (const name of expand?.order ?? []) {
    if (name === "attachments")
      out.attachments = message.attachments.map((attachment) =>
        renderAttachment(message, attachment, context, expand?.attachments ?? null),
      );
    else {
      const properties = renderExtendedProperties(message, expand?.extendedProperties ?? []);
      if (properties) out.singleValueExtendedProperties = properties;
    }
  }
  return out;
}

export function renderFolder(
  store: MailboxStore,
  folder: FolderRecord,
  select: string[] | null,
): Record<string, unknown> {
  const full: Record<string, unknown> = {
    id: folder.id,
    displayName: folder.displayName,
    parentFolderId: folder.parentFolderId,
    childFolderCount: folder.childIds.length,
    unreadItemCount: store.unreadCount(folder),
    totalItemCount: folder.messages.length,
    isHidden: folder.isHidden,
  };
  if (!select) return full;
  const out: Record<string, unknown> = { id: folder.id };
  for (const name of select) out[name] = full[name];
  return out;
}

export function attachmentId(
  message: MessageRecord,
  attachment: AttachmentRecord,
  immutableIds: boolean,
): string {
  const base = messageId(message, { immutableIds }).replace(/=+$/, "");
  return `${base}BEgAQA${attachment.key}`;
}

export const ATTACHMENT_PROPERTIES = [
  "id",
  "lastModifiedDateTime",
  "name",
  "contentType",
  "size",
  "isInline",
  "contentId",
  "contentLocation",
  "contentBytes",
] as const;

export function renderAttachment(
  message: MessageRecord,
  attachment: AttachmentRecord,
  context: { immutableIds: boolean },
  select: string[] | null,
): Record<string, unknown> {
  const full: Record<string, unknown> = {
    "@odata.type": "#microsoft.graph.fileAttachment",
    "@odata.mediaContentType": attachment.contentType,
    id: attachmentId(message, attachment, context.immutableIds),
    lastModifiedDateTime: isoDate(attachment.lastModifiedAt),
    name: attachment.name,
    contentType: attachment.contentType,
    size: attachment.content.length,
    isInline: attachment.isInline,
    contentId: attachment.contentId,
    contentLocation: attachment.contentLocation,
  };
  // Encoded only when asked for: a 100 MB file's base64 is a third of a second of the sandbox's one
  // thread, which a `$select=id,name,size` must not cost (Graph answers those at once).
  const contentBytes = () => attachment.content.toString("base64");
  if (!select) return { ...full, contentBytes: contentBytes() };
  const out: Record<string, unknown> = { "@odata.type": full["@odata.type"], id: full.id };
  for (const name of select) out[name] = name === "contentBytes" ? contentBytes() : full[name];
  return out;
}
