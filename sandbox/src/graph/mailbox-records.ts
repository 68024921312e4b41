// The records a mailbox holds: messages, attachments, folders, and the input a new message is
// created from.
export interface EmailAddress {
  name: string;
  address: string;
}

export interface AttachmentRecord {
  /** Stable per attachment; the Graph attachment id is derived from the message id plus this key. */
  key: string;
  name: string;
  contentType: string;
  content: Buffer;
  contentId: string | null;
  contentLocation: string | null;
  isInline: boolean;
  lastModifiedAt: number;
}

export type FlagStatus = "notFlagged" | "complete" | "flagged";
export interface DateTimeTimeZone {
  dateTime: string;
  timeZone: string;
}
export interface FollowupFlag {
  flagStatus: FlagStatus;
  startDateTime?: DateTimeTimeZone;
  dueDateTime?: DateTimeTimeZone;
  completedDateTime?: DateTimeTimeZone;
}

export interface MessageRecord {
  immutableId: string;
  restId: string;
  folderId: string;
  /** Insertion order; ties on receivedAt sort newest-inserted first. */
  ord: number;
  /** Mailbox change sequence of the last create/update/move-in (delta reads it). */
  changeSeq: number;
  changeKey: string;
  createdAt: number;
  lastModifiedAt: number;
  receivedAt: number;
  sentAt: number | null;
  subject: string;
  body: { contentType: "html" | "text"; content: string };
  /** The part of the body that is new in this message (replies quote their parent below it). */
  uniqueBody: { contentType: "html" | "text"; content: string } | null;
  from: EmailAddress | null;
  sender: EmailAddress | null;
  toRecipients: EmailAddress[];
  ccRecipients: EmailAddress[];
  bccRecipients: EmailAddress[];
  replyTo: EmailAddress[];
  conversationId: string;
  conversationIndex: string;
  internetMessageId: string;
  inReplyTo: string | null;
  references: string[];
  isRead: boolean;
  isDraft: boolean;
  isDeliveryReceiptRequested: boolean;
  isReadReceiptRequested: boolean;
  importance: "low" | "normal" | "high";
  inferenceClassification: "focused" | "other";
  flag: FollowupFlag;
  categories: string[];
  headers: { name: string; value: string }[];
  /** Single-value extended properties by canonical id (PidTagInReplyToId is `inReplyTo`). */
  extendedProperties: { id: string; value: string }[];
  attachments: AttachmentRecord[];
}

export interface FolderRecord {
  id: string;
  displayName: string;
  parentFolderId: string;
  wellKnownName: string | null;
  isHidden: boolean;
  /** Inside the IPM subtree (under msgfolderroot): listed and included in /me/messages. */
  isIpm: boolean;
  childIds: string[];
  /** Sorted newest first (receivedAt desc, then ord desc). */
  messages: MessageRecord[];
  /** Items that left this folder (deleted or moved out), for delta `@removed`. */
  tombstones: { seq: number; immutableId: string; restId: string }[];
}

export type MessageInit = Partial<
  Omit<MessageRecord, "immutableId" | "restId" | "folderId" | "ord" | "changeSeq">
>;
