// Graph JSON for messages, folders and attachments. Property names and types follow the v1.0 CSDL
// (message/outlookItem, mailFolder, attachment/fileAttachment, recipient, itemBody, followupFlag).
import { type BodyPreferences, bodyPreview, renderBody } from "./body.ts";
import { badRequest, unknownProperty } from "./errors.ts";
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
const MESSAGE_PROPERTY_SET = new Set<string>(MESSAGE_PROPERTIES);
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

/** `$expand` on messages: only the `attachments` navigation property, optionally with a nested `$select`. */
export interface MessageExpand {
  /** Attachment properties to return; null = all (incl. `contentBytes`). */
  attachments: string[] | null;
}

/** Navigation properties of microsoft.graph.message (CSDL); the sandbox has no extensions or extended properties. */
const MESSAGE_NAVIGATION = [
  "attachments",
  "extensions",
  "multiValueExtendedProperties",
  "singleValueExtendedProperties",
];

/**
 * Parses `$expand` for messages (e.g. `attachments($select=id,name,size)`). Graph answers 400 for a
 * name that is no property of the type; the sandbox also refuses navigation properties it does not
 * model and nested options other than `$select`.
 */
export function parseMessageExpand(raw: string | null): MessageExpand | null {
  if (raw === null || raw.trim() === "") return null;
  let expand: MessageExpand | null = null;
  for (const item of splitTopLevel(raw, ",")) {
    const match = /^\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*$/s.exec(item);
    if (!match) throw badRequest(`Invalid $expand expression '${item.trim()}'.`);
    const name = match[1]!;
    const lower = name.toLowerCase();
    if (lower !== "attachments") {
      if (MESSAGE_NAVIGATION.some((nav) => nav.toLowerCase() === lower))
        throw badRequest(`The sandbox does not support $expand=${name}.`);
      if (MESSAGE_PROPERTY_SET.has(name) || MESSAGE_PROPERTIES.some((p) => p.toLowerCase() === lower))
        throw badRequest(
          `Property '${name}' on type 'microsoft.graph.message' is not a navigation property or complex property. Only navigation properties can be expanded.`,
        );
      throw unknownProperty(name);
    }
    let select: string[] | null = null;
    for (const option of splitTopLevel(match[2] ?? "", ";")) {
      if (option.trim() === "") continue;
      const eq = option.indexOf("=");
      const key = (eq < 0 ? option : option.slice(0, eq)).trim().toLowerCase();
      if (key !== "$select")
        throw badRequest(`The sandbox supports only $select inside $expand, not '${option.trim()}'.`);
      select = parseSelect(option.slice(eq + 1), ATTACHMENT_PROPERTIES, "microsoft.graph.attachment");
    }
    expand = { attachments: select };
  }
  return expand;
}

/** Splits on `separator` outside parentheses. */
function splitTopLevel(raw: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth = Math.max(0, depth - 1);
    else if (ch === separator && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  return parts;
}

/** The OData context suffix of a message projection, e.g. `(id,subject,attachments(id,name))`. */
export function messageContextSuffix(select: string[] | null, expand: MessageExpand | null): string {
  const parts = select ? [...select] : [];
  if (expand) parts.push(`attachments(${expand.attachments?.join(",") ?? ""})`);
  return parts.length > 0 ? `(${parts.join(",")})` : "";
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
  const variant = `${context.immutableIds}|${context.contentType}|${context.allowUnsafeHtml}|${select?.join(",") ?? "*"}|${expand ? `att(${expand.attachments?.join(",") ?? "*"})` : ""}`;
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
  // Graph lists an expanded navigation property after the structural ones, attachments in their order.
  if (expand)
    out.attachments = message.attachments.map((attachment) =>
      renderAttachment(message, attachment, context, expand.attachments),
    );
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
    contentBytes: attachment.content.toString("base64"),
  };
  if (!select) return full;
  const out: Record<string, unknown> = { "@odata.type": full["@odata.type"], id: full.id };
  for (const name of select) out[name] = full[name];
  return out;
}
