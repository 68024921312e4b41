// One Exchange-like mailbox per sandbox user: a folder tree with well-known folders, messages
// indexed per folder by receivedDateTime (newest first), REST ids that change on move and
// immutable ids that never do, soft-deleted items, and a per-mailbox change sequence that the
// delta queries read. Nothing here knows about HTTP; every mutation is reported through
// `state.emitMailChange` (with the immutable id) and recorded for delta.
import { randomBytes } from "node:crypto";
import type { SandboxState } from "../state.ts";
import {
  conversationIdFor,
  newAttachmentKey,
  newChangeKey,
  newConversationIndex,
  newFolderId,
  newImmutableMessageId,
  newInternetMessageId,
  newRestMessageId,
} from "./ids.ts";
import type { AttachmentRecord, FolderRecord, MessageInit, MessageRecord } from "./mailbox-records.ts";
import { insertSorted, removeSorted } from "./sorted-messages.ts";

const WELL_KNOWN: { name: string; displayName: string; ipm: boolean; hidden?: boolean }[] = [
  { name: "inbox", displayName: "Inbox", ipm: true },
  { name: "drafts", displayName: "Drafts", ipm: true },
  { name: "sentitems", displayName: "Sent Items", ipm: true },
  { name: "deleteditems", displayName: "Deleted Items", ipm: true },
  { name: "junkemail", displayName: "Junk Email", ipm: true },
  { name: "archive", displayName: "Archive", ipm: true },
  { name: "outbox", displayName: "Outbox", ipm: true },
  { name: "conversationhistory", displayName: "Conversation History", ipm: true },
  { name: "clutter", displayName: "Clutter", ipm: true, hidden: true },
  { name: "conflicts", displayName: "Conflicts", ipm: true, hidden: true },
  { name: "syncissues", displayName: "Sync Issues", ipm: true, hidden: true },
  { name: "localfailures", displayName: "Local Failures", ipm: true, hidden: true },
  { name: "serverfailures", displayName: "Server Failures", ipm: true, hidden: true },
  { name: "scheduled", displayName: "Scheduled", ipm: false, hidden: true },
  { name: "searchfolders", displayName: "Finder", ipm: false, hidden: true },
  { name: "recoverableitemsdeletions", displayName: "Deletions", ipm: false, hidden: true },
];

export function messageSizeBytes(message: MessageRecord): number {
  let size = Buffer.byteLength(message.body.content) + Buffer.byteLength(message.subject) + 1024;
  for (const attachment of message.attachments) size += attachment.content.length;
  return size;
}

export class MailboxStore {
  /** Distinguishes this mailbox instance: delta tokens from another sandbox run are stale (410). */
  readonly epoch = randomBytes(6).toString("hex");
  readonly folders = new Map<string, FolderRecord>();
  readonly wellKnown = new Map<string, string>();
  readonly rootId: string;
  /** Messages of the IPM subtree, newest first (the `/me/messages` collection). */
  readonly all: MessageRecord[] = [];
  private readonly byImmutableId = new Map<string, MessageRecord>();
  private readonly byRestId = new Map<string, MessageRecord>();
  private ordCounter = 0;
  /** Monotonic change sequence of this mailbox. */
  seq = 0;
  /** Delta tokens carry the generation they were issued in; bumping it makes them stale (410). */
  deltaGeneration = 1;
  /** Largest message the mailbox accepts (Exchange Online's configurable maximum, 150 MB). */
  maxMessageBytes = 150 * 1024 * 1024;

  constructor(
    readonly userId: string,
    private readonly state: SandboxState,
  ) {
    const root: FolderRecord = this.makeFolder("Top of Information Store", "", "msgfolderroot", true, false);
    this.rootId = root.id;
    for (const spec of WELL_KNOWN) {
      const folder = this.makeFolder(spec.displayName, root.id, spec.name, spec.ipm, spec.hidden ?? false);
      if (spec.ipm) root.childIds.push(folder.id);
    }
  }

  private makeFolder(
    displayName: string,
    parentFolderId: string,
    wellKnownName: string | null,
    isIpm: boolean,
    isHidden: boolean,
  ): FolderRecord {
    const folder: FolderRecord = {
      id: newFolderId(),
      displayName,
      parentFolderId,
      wellKnownName,
      isHidden,
      isIpm,
      childIds: [],
      messages: [],
      tombstones: [],
    };
    this.folders.set(folder.id, folder);
    if (wellKnownName) this.wellKnown.set(wellKnownName, folder.id);
    return folder;
  }

  /** A folder by id or (case-insensitive) well-known name. */
  resolveFolder(reference: string): FolderRecord | undefined {
    const byId = this.folders.get(reference);
    if (byId) return byId;
    const id = this.wellKnown.get(reference.toLowerCase());
    return id ? this.folders.get(id) : undefined;
  }

  wellKnownFolder(name: string): FolderRecord {
    const folder = this.resolveFolder(name);
    if (!folder) throw new Error(`well-known folder ${name} missing`);
    return folder;
  }

  /** A message by its current REST id or its immutable id; stale REST ids resolve to nothing. */
  resolveMessage(id: string): MessageRecord | undefined {
    return this.byRestId.get(id) ?? this.byImmutableId.get(id);
  }

  /** Top-level folders under the IPM root, or children of a folder. */
  childFolders(parentId: string, includeHidden: boolean): FolderRecord[] {
    const parent = this.folders.get(parentId);
    if (!parent) return [];
    const children: FolderRecord[] = [];
    for (const id of parent.childIds) {
      const folder = this.folders.get(id);
      if (folder && (includeHidden || !folder.isHidden)) children.push(folder);
    }
    return children;
  }

  createFolder(parentId: string, displayName: string, isHidden = false): FolderRecord {
    const parent = this.folders.get(parentId);
    if (!parent) throw new Error("parent folder missing");
    const folder = this.makeFolder(displayName, parentId, null, parent.isIpm, isHidden);
    parent.childIds.push(folder.id);
    return folder;
  }

  findChildFolder(parentId: string, displayName: string): FolderRecord | undefined {
    const needle = displayName.toLowerCase();
    return this.childFolders(parentId, true).find((folder) => folder.displayName.toLowerCase() === needle);
  }

  /** Resolves "Projects/2024" under the IPM root, creating missing folders. */
  ensureFolderPath(path: string): FolderRecord {
    const wellKnown = this.resolveFolder(path);
    if (wellKnown && !path.includes("/")) return wellKnown;
    let parent = this.folders.get(this.rootId)!;
    for (const part of path.split("/").filter((segment) => segment !== "")) {
      parent =
        (parent.id === this.rootId ? this.resolveFolder(part) : undefined) ??
        this.findChildFolder(parent.id, part) ??
        this.createFolder(parent.id, part);
    }
    return parent;
  }

  renameFolder(folder: FolderRecord, displayName: string): void {
    folder.displayName = displayName;
  }

  /** Removes a folder and everything under it (items are reported deleted). */
  deleteFolder(folder: FolderRecord): void {
    for (const childId of [...folder.childIds]) {
      const child = this.folders.get(childId);
      if (child) this.deleteFolder(child);
    }
    for (const message of [...folder.messages]) this.purge(message);
    const parent = this.folders.get(folder.parentFolderId);
    if (parent) parent.childIds = parent.childIds.filter((id) => id !== folder.id);
    this.folders.delete(folder.id);
  }

  moveFolder(folder: FolderRecord, destination: FolderRecord): void {
    const parent = this.folders.get(folder.parentFolderId);
    if (parent) parent.childIds = parent.childIds.filter((id) => id !== folder.id);
    folder.parentFolderId = destination.id;
    destination.childIds.push(folder.id);
  }

  isDescendant(folder: FolderRecord, ancestorId: string): boolean {
    for (
      let current: FolderRecord | undefined = folder;
      current;
      current = this.folders.get(current.parentFolderId)
    ) {
      if (current.id === ancestorId) return true;
    }
    return false;
  }

  private nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  private index(message: MessageRecord): void {
    const folder = this.folders.get(message.folderId)!;
    insertSorted(folder.messages, message);
    if (folder.isIpm) insertSorted(this.all, message);
    this.byRestId.set(message.restId, message);
    this.byImmutableId.set(message.immutableId, message);
  }

  private unindex(message: MessageRecord): void {
    const folder = this.folders.get(message.folderId);
    if (folder) {
      removeSorted(folder.messages, message);
      if (folder.isIpm) removeSorted(this.all, message);
      folder.tombstones.push({
        seq: this.nextSeq(),
        immutableId: message.immutableId,
        restId: message.restId,
      });
    }
    this.byRestId.delete(message.restId);
  }

  private emit(
    changeType: "created" | "updated" | "deleted",
    message: MessageRecord,
    folderId: string,
    restId = message.restId,
  ): void {
    this.state.emitMailChange({
      userId: this.userId,
      changeType,
      messageId: message.immutableId,
      restId,
      folderId,
    });
  }

  /** Creates a message in `folderId`; unset fields get Exchange's defaults. */
  insertMessage(folderId: string, init: MessageInit, options: { silent?: boolean } = {}): MessageRecord {
    const now = this.state.now();
    const receivedAt = init.receivedAt ?? now;
    const message: MessageRecord = {
      immutableId: newImmutableMessageId(),
      restId: newRestMessageId(),
      folderId,
      ord: ++this.ordCounter,
      changeSeq: this.nextSeq(),
      changeKey: newChangeKey(),
      createdAt: init.createdAt ?? receivedAt,
      lastModifiedAt: init.lastModifiedAt ?? receivedAt,
      receivedAt,
      sentAt: init.sentAt === undefined ? receivedAt : init.sentAt,
      subject: init.subject ?? "",
      body: init.body ?? { contentType: "text", content: "" },
      uniqueBody: init.uniqueBody ?? null,
      from: init.from ?? null,
      sender: init.sender ?? init.from ?? null,
      toRecipients: init.toRecipients ?? [],
      ccRecipients: init.ccRecipients ?? [],
      bccRecipients: init.bccRecipients ?? [],
      replyTo: init.replyTo ?? [],
      conversationId: init.conversationId ?? conversationIdFor(randomBytes(16).toString("hex")),
      conversationIndex: init.conversationIndex ?? newConversationIndex(receivedAt),
      internetMessageId: init.internetMessageId ?? newInternetMessageId(),
      inReplyTo: init.inReplyTo ?? null,
      references: init.references ?? [],
      isRead: init.isRead ?? false,
      isDraft: init.isDraft ?? false,
      isDeliveryReceiptRequested: init.isDeliveryReceiptRequested ?? false,
      isReadReceiptRequested: init.isReadReceiptRequested ?? false,
      importance: init.importance ?? "normal",
      inferenceClassification: init.inferenceClassification ?? "focused",
      flag: init.flag ?? { flagStatus: "notFlagged" },
      categories: init.categories ?? [],
      headers: init.headers ?? [],
      extendedProperties: init.extendedProperties ?? [],
      attachments: (init.attachments ?? []).map((attachment) =>
        attachment.key ? attachment : { ...attachment, key: newAttachmentKey() },
      ),
    };
    this.index(message);
    if (!options.silent) this.emit("created", message, folderId);
    return message;
  }

  /** Applies a change and bumps changeKey/lastModifiedDateTime (one `updated` event). */
  updateMessage(message: MessageRecord, change: (message: MessageRecord) => void): MessageRecord {
    const folder = this.folders.get(message.folderId)!;
    // Re-index: the change may touch receivedDateTime (the sort key).
    if (folder.isIpm) removeSorted(this.all, message);
    removeSorted(folder.messages, message);
    change(message);
    insertSorted(folder.messages, message);
    if (folder.isIpm) insertSorted(this.all, message);
    message.changeKey = newChangeKey();
    message.lastModifiedAt = this.state.now();
    message.changeSeq = this.nextSeq();
    this.emit("updated", message, message.folderId);
    return message;
  }

  /** Moves to another folder: a new REST id, the same immutable id (reference §3.7). */
  moveMessage(message: MessageRecord, destination: FolderRecord): MessageRecord {
    if (destination.id === message.folderId) return message;
    const from = message.folderId;
    const oldRestId = message.restId;
    this.unindex(message);
    message.folderId = destination.id;
    message.restId = newRestMessageId();
    message.changeKey = newChangeKey();
    message.lastModifiedAt = this.state.now();
    message.changeSeq = this.nextSeq();
    this.index(message);
    this.emit("deleted", message, from, oldRestId);
    this.emit("created", message, destination.id);
    return message;
  }

  copyMessage(message: MessageRecord, destination: FolderRecord): MessageRecord {
    const { immutableId: _i, restId: _r, folderId: _f, ord: _o, changeSeq: _c, ...rest } = message;
    return this.insertMessage(destination.id, {
      ...structuredClone({ ...rest, attachments: [] }),
      attachments: message.attachments.map((attachment) => ({ ...attachment, key: newAttachmentKey() })),
      createdAt: this.state.now(),
      lastModifiedAt: this.state.now(),
    });
  }

  /** `DELETE /messages/{id}`: a soft delete into Recoverable Items (reference §3.5). */
  softDelete(message: MessageRecord): void {
    const from = message.folderId;
    const destination = this.wellKnownFolder("recoverableitemsdeletions");
    const oldRestId = message.restId;
    this.unindex(message);
    message.folderId = destination.id;
    message.restId = newRestMessageId();
    message.changeSeq = this.nextSeq();
    this.index(message);
    this.emit("deleted", message, from, oldRestId);
  }

  /** Removes a message entirely (permanentDelete, folder deletion). */
  purge(message: MessageRecord): void {
    const from = message.folderId;
    this.unindex(message);
    this.byImmutableId.delete(message.immutableId);
    this.emit("deleted", message, from);
  }

  addAttachment(
    message: MessageRecord,
    attachment: Omit<AttachmentRecord, "key" | "lastModifiedAt">,
  ): AttachmentRecord {
    const record: AttachmentRecord = {
      ...attachment,
      key: newAttachmentKey(),
      lastModifiedAt: this.state.now(),
    };
    this.updateMessage(message, (target) => {
      target.attachments.push(record);
    });
    return record;
  }

  removeAttachment(message: MessageRecord, attachment: AttachmentRecord): void {
    this.updateMessage(message, (target) => {
      target.attachments = target.attachments.filter((candidate) => candidate !== attachment);
    });
  }

  unreadCount(folder: FolderRecord): number {
    let unread = 0;
    for (const message of folder.messages) if (!message.isRead) unread++;
    return unread;
  }
}
