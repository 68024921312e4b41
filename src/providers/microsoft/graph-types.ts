// Graph's message, folder and attachment resources as Mailroom reads them (reference §3.9), and the
// message properties every listing selects.

export interface GraphRecipient {
  emailAddress?: { name?: string | null; address?: string | null } | null;
}

export interface GraphMessage {
  id: string;
  /** Changes with every change to the item (its version; Outlook's ChangeKey). */
  changeKey?: string | null;
  receivedDateTime?: string | null;
  sentDateTime?: string | null;
  lastModifiedDateTime?: string | null;
  subject?: string | null;
  isRead?: boolean;
  isDraft?: boolean;
  hasAttachments?: boolean;
  internetMessageId?: string | null;
  conversationId?: string | null;
  parentFolderId?: string | null;
  from?: GraphRecipient | null;
  sender?: GraphRecipient | null;
  toRecipients?: GraphRecipient[] | null;
  ccRecipients?: GraphRecipient[] | null;
  bccRecipients?: GraphRecipient[] | null;
  replyTo?: GraphRecipient[] | null;
  body?: { contentType?: string; content?: string | null } | null;
  internetMessageHeaders?: { name: string; value: string }[] | null;
  /** Only when expanded (`$expand=singleValueExtendedProperties($filter=…)`), and only when one matches. */
  singleValueExtendedProperties?: { id: string; value?: string | null }[] | null;
}

export interface GraphFolder {
  id: string;
  displayName?: string | null;
  parentFolderId?: string | null;
  childFolderCount?: number;
  totalItemCount?: number;
  unreadItemCount?: number;
}

export interface GraphAttachment {
  id: string;
  name?: string | null;
  contentType?: string | null;
  size?: number | null;
  isInline?: boolean;
  contentId?: string | null;
}

/** Message properties every listing asks for (`$select`, reference §3.3: large pages can 504 without it). */
export const MESSAGE_META_FIELDS = [
  "id",
  "receivedDateTime",
  "sentDateTime",
  "subject",
  "isRead",
  "isDraft",
  "hasAttachments",
  "internetMessageId",
  "conversationId",
  "parentFolderId",
  "from",
  "sender",
  "toRecipients",
  "ccRecipients",
  "bccRecipients",
  "replyTo",
];

/** A page of a Graph collection: its items and, when more follow, the link to the next page. */
export interface GraphPage<T> {
  value?: T[];
  "@odata.nextLink"?: string;
}
