// The corpus' output shape, which the Graph module's mailbox store takes as input.

export interface CorpusAddress {
  name?: string;
  address: string;
}

export interface CorpusAttachment {
  name: string;
  contentType: string;
  content: Buffer;
  contentId?: string;
  isInline: boolean;
}

export interface CorpusMessage {
  /** Well-known folder name, or a custom folder path such as "Projects/Q3". */
  folder: "inbox" | "junkemail" | "archive" | "sentitems" | "deleteditems" | (string & {});
  subject: string;
  from: CorpusAddress;
  to: CorpusAddress[];
  cc: CorpusAddress[];
  receivedAt: number;
  internetMessageId: string;
  inReplyTo?: string;
  references?: string[];
  /** Equal for all messages of one thread (the Graph module derives conversationId from it). */
  conversationKey: string;
  bodyHtml?: string;
  bodyText?: string;
  headers: { name: string; value: string }[];
  attachments: CorpusAttachment[];
  isRead: boolean;
  flagged: boolean;
  importance: "low" | "normal" | "high";
}

export interface LoadCorpusOptions {
  /** Total number of messages wanted (generated + SpamAssassin). */
  size: number;
  seed?: string;
  /** Sandbox domains every rewritten address must belong to. */
  domains: { work: string[]; personal: string[] };
  /** Sandbox users that some correspondents are rewritten into (so mail links real sandbox mailboxes). */
  people: { name: string; address: string }[];
  /** The mailbox owner: some corpus senders become the owner, and their mail lands in Sent Items. */
  owner: { name: string; address: string };
  /** Clock (epoch ms) the dates are shifted towards; defaults to Date.now(). */
  now?: number;
}
