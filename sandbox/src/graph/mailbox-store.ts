// The mailboxes of one sandbox, one per user, and seeding them from the corpus. The mailbox
// itself lives in mailbox.ts, its records in mailbox-records.ts; both are re-exported here.
import type { CorpusAddress, CorpusMessage } from "../corpus/types.ts";
import type { SandboxState } from "../state.ts";
import {
  childConversationIndex,
  conversationIdFromIndex,
  newAttachmentKey,
  newConversationIndex,
} from "./ids.ts";
import { MailboxStore } from "./mailbox.ts";
import type { EmailAddress } from "./mailbox-records.ts";

// The corpus' message shape is the store's input; one definition serves both.
export type { CorpusAddress, CorpusAttachment, CorpusMessage } from "../corpus/types.ts";
export { MailboxStore, messageSizeBytes } from "./mailbox.ts";
export type {
  AttachmentRecord,
  DateTimeTimeZone,
  EmailAddress,
  FlagStatus,
  FolderRecord,
  FollowupFlag,
  MessageInit,
  MessageRecord,
} from "./mailbox-records.ts";

/** All mailboxes of one sandbox, keyed by user id. */
export class MailboxRegistry {
  private readonly stores = new Map<string, MailboxStore>();
  constructor(private readonly state: SandboxState) {}

  /** The user's mailbox (created empty on first use). */
  get(userId: string): MailboxStore {
    let store = this.stores.get(userId);
    if (!store) {
      store = new MailboxStore(userId, this.state);
      this.stores.set(userId, store);
    }
    return store;
  }

  has(userId: string): boolean {
    return this.stores.has(userId);
  }

  /** Discards a mailbox (e.g. a scenario reset); the next `get` starts empty. */
  reset(userId: string): void {
    this.stores.delete(userId);
  }

  /** Files corpus messages into the user's mailbox without emitting change events. */
  seedMailbox(userId: string, messages: CorpusMessage[]): MailboxStore {
    const store = this.get(userId);
    const user = this.state.users.get(userId);
    const owner = user?.email.toLowerCase();
    const roots = new Map<string, string>();
    const sorted = [...messages].sort((a, b) => a.receivedAt - b.receivedAt);
    for (const corpus of sorted) {
      const folder = store.ensureFolderPath(corpus.folder);
      const root = roots.get(corpus.conversationKey);
      const depth = Math.max(corpus.references?.length ?? 0, corpus.inReplyTo ? 1 : 0);
      let conversationIndex = root ?? newConversationIndex(corpus.receivedAt);
      if (!root) roots.set(corpus.conversationKey, conversationIndex);
      for (let level = 0; level < depth && root; level++)
        conversationIndex = childConversationIndex(conversationIndex);
      const address = (entry: CorpusAddress): EmailAddress => ({
        name: entry.name ?? entry.address,
        address: entry.address,
      });
      const isSent = corpus.folder === "sentitems" || corpus.from.address.toLowerCase() === owner;
      store.insertMessage(
        folder.id,
        {
          subject: corpus.subject,
          body:
            corpus.bodyHtml !== undefined
              ? { contentType: "html", content: corpus.bodyHtml }
              : { contentType: "text", content: corpus.bodyText ?? "" },
          from: address(corpus.from),
          sender: address(corpus.from),
          toRecipients: corpus.to.map(address),
          ccRecipients: corpus.cc.map(address),
          receivedAt: corpus.receivedAt,
          sentAt: corpus.receivedAt - 2_000,
          createdAt: corpus.receivedAt,
          lastModifiedAt: corpus.receivedAt,
          conversationId: conversationIdFromIndex(conversationIndex),
          conversationIndex,
          internetMessageId: corpus.internetMessageId,
          inReplyTo: corpus.inReplyTo ?? null,
          references: corpus.references ?? [],
          isRead: isSent ? true : corpus.isRead,
          importance: corpus.importance,
          inferenceClassification: corpus.folder === "junkemail" ? "other" : "focused",
          flag: { flagStatus: corpus.flagged ? "flagged" : "notFlagged" },
          headers: corpus.headers,
          attachments: corpus.attachments.map((attachment) => ({
            key: newAttachmentKey(),
            name: attachment.name,
            contentType: attachment.contentType,
            content: attachment.content,
            contentId: attachment.contentId ?? null,
            contentLocation: null,
            isInline: attachment.isInline,
            lastModifiedAt: corpus.receivedAt,
          })),
        },
        { silent: true },
      );
    }
    return store;
  }
}

const registries = new WeakMap<SandboxState, MailboxRegistry>();

/** The mailbox registry of a sandbox (one per `SandboxState`). */
export function mailboxes(state: SandboxState): MailboxRegistry {
  let registry = registries.get(state);
  if (!registry) {
    registry = new MailboxRegistry(state);
    registries.set(state, registry);
  }
  return registry;
}
