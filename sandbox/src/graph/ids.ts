// Id shapes as Graph shows them (reference §3.2): REST message ids `AAMkAG…=`, immutable ids
// `AAkALg…`, folder ids `AQMkAD…`, conversation ids `AAQkAG…=`. REST and immutable ids use the
// base64url alphabet (`-`, `_`) with `=` padding; changeKeys and conversationIndex are plain base64.
import { createHash, randomBytes, randomUUID } from "node:crypto";

function base64urlPadded(bytes: Buffer): string {
  return bytes.toString("base64").replaceAll("+", "-").replaceAll("/", "_");
}

/** A REST item id; a new one is minted each time the item moves to another folder. */
export function newRestMessageId(): string {
  // 104 random bytes → 140 chars ending in one "=", like real ids (~152 chars).
  return `AAMkAG${base64urlPadded(randomBytes(104))}`;
}

/** An immutable id (`Prefer: IdType="ImmutableId"`): fixed for the item's life in this mailbox. */
export function newImmutableMessageId(): string {
  return `AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A${base64urlPadded(randomBytes(35))}`;
}

export function newFolderId(): string {
  return `AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAAD${base64urlPadded(randomBytes(40))}`;
}

export function conversationIdFor(key: string): string {
  const digest = createHash("sha256").update(key).digest();
  return `AAQkAGI2ZjRlMmM0LWE0NDktNGQxOC1hOGRlLTMzOTRlMDI2NDIwYgAQA${base64urlPadded(digest.subarray(0, 16))}`;
}

export function newChangeKey(): string {
  return `CQAAABYAAAA${randomBytes(18).toString("base64")}`;
}

export function newAttachmentKey(): string {
  return base64urlPadded(randomBytes(12));
}

/** Exchange-style Message-ID, e.g. `<AM0PR07MB4417B1C2D3E4F5A6B7C8D9E0@AM0PR07MB4417.eurprd07.prod.outlook.com>`. */
export function newInternetMessageId(): string {
  const server = `AM0PR07MB${randomBytes(2).readUInt16BE(0).toString().padStart(4, "0")}`;
  return `<${server}${randomBytes(12).toString("hex").toUpperCase()}@${server}.eurprd07.prod.outlook.com>`;
}

/** Exchange derives ConversationId from the conversationIndex header block, so it matches across mailboxes. */
export function conversationIdFromIndex(conversationIndex: string): string {
  return conversationIdFor(Buffer.from(conversationIndex, "base64").subarray(0, 22).toString("base64"));
}

/** A conversationIndex header block (22 bytes: reserved byte, 5 bytes of FILETIME, GUID). */
export function newConversationIndex(now: number): string {
  const filetime = (BigInt(now) + 11_644_473_600_000n) * 10_000n;
  const header = Buffer.alloc(22);
  header[0] = 1;
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(filetime);
  time.copy(header, 1, 0, 5);
  Buffer.from(randomUUID().replaceAll("-", ""), "hex").copy(header, 6);
  return header.toString("base64");
}

/** A reply's conversationIndex: the parent's plus a 5-byte child block. */
export function childConversationIndex(parent: string): string {
  return Buffer.concat([Buffer.from(parent, "base64"), randomBytes(5)]).toString("base64");
}

/** Loose shape check: Exchange rejects ids that are not base64 (400 ErrorInvalidIdMalformed). */
export function isWellFormedId(id: string): boolean {
  return id.length >= 40 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(id);
}

export function newRequestId(): string {
  return randomUUID();
}
