// Message properties as `$filter`, `$orderby` and `$search` read them: lower-cased body text
// (cached per change key) and the scalar behind each filterable path.
import { htmlToText } from "./body.ts";
import type { MessageRecord } from "./mailbox-store.ts";

const textCache = new WeakMap<MessageRecord, { changeKey: string; text: string }>();
export function bodyText(message: MessageRecord): string {
  const cached = textCache.get(message);
  if (cached && cached.changeKey === message.changeKey) return cached.text;
  const text = (
    message.body.contentType === "html" ? htmlToText(message.body.content) : message.body.content
  ).toLowerCase();
  textCache.set(message, { changeKey: message.changeKey, text });
  return text;
}

export function scalar(message: MessageRecord, path: string): string | number | boolean | null {
  switch (path.toLowerCase()) {
    case "receiveddatetime":
      return message.receivedAt;
    case "sentdatetime":
      return message.sentAt;
    case "createddatetime":
      return message.createdAt;
    case "lastmodifieddatetime":
      return message.lastModifiedAt;
    case "isread":
      return message.isRead;
    case "isdraft":
      return message.isDraft;
    case "hasattachments":
      return message.attachments.some((attachment) => !attachment.isInline);
    case "isdeliveryreceiptrequested":
      return message.isDeliveryReceiptRequested;
    case "isreadreceiptrequested":
      return message.isReadReceiptRequested;
    case "subject":
      return message.subject;
    case "conversationid":
      return message.conversationId;
    case "internetmessageid":
      return message.internetMessageId;
    case "parentfolderid":
      return message.folderId;
    case "importance":
      return message.importance;
    case "inferenceclassification":
      return message.inferenceClassification;
    case "bodypreview":
      return bodyText(message).slice(0, 255);
    case "body/content":
      return bodyText(message);
    case "from/emailaddress/address":
      return message.from?.address ?? null;
    case "from/emailaddress/name":
      return message.from?.name ?? null;
    case "sender/emailaddress/address":
      return message.sender?.address ?? null;
    case "sender/emailaddress/name":
      return message.sender?.name ?? null;
    case "flag/flagstatus":
      return message.flag.flagStatus;
    default:
      return null;
  }
}
