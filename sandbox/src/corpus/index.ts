// The sandbox's realistic mail: real 2002 mailing-list mail and spam from the SpamAssassin public
// corpus (Apache-2.0), rewritten into sandbox people and domains, filed into folders, dated up to
// "now", plus a small generated corpus for modern cases (non-ASCII, large and inline attachments).
import { AddressRewriter } from "./addresses.ts";
import { encodeHeaderWord, formatAddressHeader, generatedMessages, rfc2822Date } from "./generated.ts";
import { hashHex, hashInt, hashUnit } from "./random.ts";
import { loadSources, type ParsedSource, poolFiles, type SourcePool } from "./spam-assassin.ts";
import type { CorpusMessage, LoadCorpusOptions } from "./types.ts";

export type { CorpusAddress, CorpusAttachment, CorpusMessage, LoadCorpusOptions } from "./types.ts";

const DEFAULT_SEED = "mailroom";
const DAY_MS = 86_400_000;

/** Folders that mailing lists are filed into, by list size rank (the biggest list stays in the Inbox). */
const LIST_FOLDERS = ["inbox", "Projects/Mailroom", "Projects", "inbox", "Projects"] as const;

function stripSubject(subject: string): string {
  return subject
    .replace(/^(\s*((re|fwd?|aw|sv)(\[\d+\])?\s*:|\[[^\]]{1,40}\])\s*)+/i, "")
    .trim()
    .toLowerCase();
}

const EASY_HAM_WINDOWS = [875, 940, 1000, 1060, 1125, 1190, 1250, 1310] as const;

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(key: string): string {
    let root = key;
    for (
      let next = this.parent.get(root);
      next !== undefined && next !== root;
      next = this.parent.get(root)
    ) {
      root = next;
    }
    this.parent.set(key, root);
    return root;
  }
  union(a: string, b: string): void {
    const rootA = this.find(a);
    const rootB = this.find(b);
    if (rootA === rootB) return;
    // The smaller key becomes the root, so the result does not depend on union order.
    const [low, high] = rootA < rootB ? [rootA, rootB] : [rootB, rootA];
    this.parent.set(high, low);
  }
}

function pickFiles(pool: SourcePool, count: number, seed: string): { file: string; pool: SourcePool }[] {
  if (count <= 0) return [];
  const files = poolFiles(pool);
  // A contiguous window keeps mailing-list threads together (the corpus is in arrival order).
  // For easy ham the window starts where several lists overlap (exmh, rpm, spamassassin, razor);
  // elsewhere in easy-ham-1 a window is one list or RSS items only.
  const preferred = pool === "easy-ham-1" ? EASY_HAM_WINDOWS : null;
  const wanted = preferred
    ? preferred[hashInt(seed, "window", pool) % preferred.length]!
    : hashInt(seed, "window", pool) % Math.max(1, files.length - count);
  const start = Math.max(0, Math.min(wanted, files.length - count));
  return files.slice(start, start + count).map((file) => ({ file, pool }));
}

/** Linear map of original dates onto [now - spanMs, now - gapMs]: order kept, newest is recent. */
function shiftDates(sources: ParsedSource[], now: number, spanMs: number, gapMs: number): number[] {
  const raw: number[] = [];
  let previous = 0;
  for (const source of sources) {
    const valid = source.date !== null && source.date > 631_152_000_000 && source.date < 1_262_304_000_000;
    previous = valid ? source.date! : previous ? previous + 60_000 : 1_030_000_000_000;
    raw.push(previous);
  }
  const oldest = Math.min(...raw);
  const newest = Math.max(...raw);
  const scale = newest > oldest ? (spanMs - gapMs) / (newest - oldest) : 0;
  return raw.map((time) => Math.round(now - gapMs - (newest - time) * scale));
}

function importanceOf(source: ParsedSource, seed: string): CorpusMessage["importance"] {
  const priority = source.xPriority?.trim()[0];
  if (priority === "1" || priority === "2") return "high";
  if (priority === "4" || priority === "5") return "low";
  const roll = hashUnit(seed, "importance", source.file);
  return roll < 0.03 ? "high" : roll < 0.05 ? "low" : "normal";
}

/**
 * Builds a deterministic mailbox for `owner`: `size` messages (generated ones first), each in a
 * folder, threaded, with addresses rewritten into the sandbox. Parsed sources are cached per process.
 */
export async function loadCorpus(options: LoadCorpusOptions): Promise<CorpusMessage[]> {
  const seed = options.seed ?? DEFAULT_SEED;
  const now = options.now ?? Date.now();
  const size = Math.max(0, Math.floor(options.size));
  const generated = generatedMessages({
    seed,
    now,
    owner: options.owner,
    people: options.people,
    domains: options.domains,
  }).slice(0, size);
  const rest = size - generated.length;
  const spamCount = rest >= 10 ? Math.max(2, Math.round(rest * 0.06)) : 0;
  const hardCount = rest >= 10 ? Math.round(rest * 0.08) : 0;
  const easyCount = rest - spamCount - hardCount;

  const [easySources, hard, spam] = await Promise.all([
    loadSources(pickFiles("easy-ham-1", easyCount, seed)),
    loadSources(pickFiles("hard-ham-1", hardCount, seed)),
    loadSources(pickFiles("spam-2", spamCount, seed)),
  ]);

  // X-BeenThere gives "list@host" where List-Id gives "list.host": one form for grouping.
  const easy = easySources.map((source) =>
    source.listId?.includes("@") ? { ...source, listId: source.listId.replace("@", ".") } : source,
  );

  // The most prolific human sender of the selected ham becomes the owner: their mail is "sent".
  const listLocalParts = new Set<string>();
  for (const source of easy)
    if (source.listId) listLocalParts.add(source.listId.split(".")[0]!.toLowerCase());
  const senderCounts = new Map<string, number>();
  for (const source of easy) {
    const address = source.from[0]?.address.toLowerCase();
    if (!address || source.listId === null) continue;
    const local = address.slice(0, address.indexOf("@"));
    if ([...listLocalParts].some((list) => local.startsWith(list)) || /rss|admin|bounce|request/.test(local))
      continue;
    senderCounts.set(address, (senderCounts.get(address) ?? 0) + 1);
  }
  const topSender = [...senderCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  const rewriter = new AddressRewriter({
    seed,
    domains: options.domains,
    people: options.people,
    owner: options.owner,
    ownerAliases: new Set(topSender ? [topSender] : []),
    listLocalParts,
  });

  // Threads: Message-ID / In-Reply-To / References links, plus same list + same stripped subject.
  const threads = new UnionFind();
  const keyOf = (source: ParsedSource): string => source.messageId ?? `file:${source.file}`;
  for (const source of [...easy, ...hard, ...spam]) {
    const key = keyOf(source);
    threads.find(key);
    if (source.inReplyTo) threads.union(key, source.inReplyTo);
    for (const reference of source.references) threads.union(key, reference);
    const stripped = stripSubject(source.subject);
    if (source.pool === "easy-ham-1" && stripped.length > 3)
      threads.union(key, `subject:${source.listId}:${stripped}`);
  }

  const times = new Map<ParsedSource, number>();
  const assignTimes = (sources: ParsedSource[], spanMs: number, gapMs: number): void => {
    if (sources.length === 0) return;
    const shifted = shiftDates(sources, now, spanMs, gapMs);
    sources.forEach((source, index) => {
      times.set(source, shifted[index]!);
    });
  };
  assignTimes(easy, 28 * DAY_MS, 35 * 60_000);
  assignTimes(hard, 40 * DAY_MS, 5 * 3_600_000);
  assignTimes(spam, 14 * DAY_MS, 2 * 3_600_000);

  // Folder per conversation: lists by size rank, old conversations archived, a few deleted.
  const listCounts = new Map<string, number>();
  for (const source of easy)
    listCounts.set(source.listId ?? "", (listCounts.get(source.listId ?? "") ?? 0) + 1);
  const listRank = new Map(
    [...listCounts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([list], index) => [list, index]),
  );
  const conversationNewest = new Map<string, number>();
  for (const source of easy) {
    const root = threads.find(keyOf(source));
    conversationNewest.set(root, Math.max(conversationNewest.get(root) ?? 0, times.get(source)!));
  }
  const archiveBefore = now - 18 * DAY_MS;
  const easyFolder = (source: ParsedSource): string => {
    const root = threads.find(keyOf(source));
    if (hashUnit(seed, "deleted", root) < 0.03) return "deleteditems";
    const folder = LIST_FOLDERS[listRank.get(source.listId ?? "") ?? 0] ?? "inbox";
    if (folder === "inbox" && (conversationNewest.get(root) ?? now) < archiveBefore) return "archive";
    return folder;
  };

  const fromCorpus: CorpusMessage[] = [];
  for (const source of [...easy, ...hard, ...spam]) {
    const receivedAt = times.get(source)!;
    const originalFrom = source.from[0] ?? { name: "", address: `unknown@${source.file}` };
    const from = rewriter.rewrite(originalFrom);
    const fromOwner = from.address.toLowerCase() === options.owner.address.toLowerCase();
    const to = source.to.map((address) => rewriter.rewrite(address));
    const cc = source.cc.map((address) => rewriter.rewrite(address));
    if (to.length === 0) to.push({ name: options.owner.name, address: options.owner.address });
    const folder =
      source.pool === "spam-2"
        ? "junkemail"
        : fromOwner
          ? "sentitems"
          : source.pool === "hard-ham-1"
            ? hashUnit(seed, "newsletter", source.file) < 0.8
              ? "Newsletters"
              : "inbox"
            : easyFolder(source);
    const recent = receivedAt > now - 2 * DAY_MS;
    const isRead =
      fromOwner ||
      (folder === "junkemail"
        ? hashUnit(seed, "read", source.file) < 0.3
        : hashUnit(seed, "read", source.file) < (recent ? 0.35 : 0.93));
    const subject = rewriter.rewriteText(source.subject);
    const internetMessageId = rewriter.rewriteMessageId(source.messageId ?? `${source.file}@corpus`);
    const inReplyTo = source.inReplyTo ? rewriter.rewriteMessageId(source.inReplyTo) : undefined;
    const references = source.references.map((reference) => rewriter.rewriteMessageId(reference));
    const attachments = source.attachments.map((attachment) => ({
      name: attachment.name,
      contentType: attachment.contentType,
      content: Buffer.from(attachment.contentBase64, "base64"),
      isInline: attachment.isInline,
      // cid: references in the HTML go through the same rewrite, so they still match.
      ...(attachment.contentId ? { contentId: rewriter.rewriteText(attachment.contentId) } : {}),
    }));
    const listLocal = source.listId?.split(".")[0]?.toLowerCase();
    const headers = [
      {
        name: "Received",
        value: `from mail.${from.address.split("@")[1]} by mx.${options.owner.address.split("@")[1]}; ${rfc2822Date(receivedAt)}`,
      },
      { name: "Message-ID", value: internetMessageId },
      ...(inReplyTo ? [{ name: "In-Reply-To", value: inReplyTo }] : []),
      ...(references.length ? [{ name: "References", value: references.join(" ") }] : []),
      { name: "Date", value: rfc2822Date(receivedAt - 45_000) },
      { name: "From", value: formatAddressHeader(from) },
      { name: "To", value: to.map(formatAddressHeader).join(", ") },
      ...(cc.length ? [{ name: "Cc", value: cc.map(formatAddressHeader).join(", ") }] : []),
      { name: "Subject", value: encodeHeaderWord(subject) },
      { name: "MIME-Version", value: "1.0" },
      {
        name: "Content-Type",
        value: attachments.length
          ? `multipart/mixed; boundary="${hashHex(source.file).slice(0, 16)}"`
          : `${source.html ? "text/html" : "text/plain"}; charset="utf-8"`,
      },
      ...(listLocal ? [{ name: "List-Id", value: `<${listLocal}.${rewriter.listDomain}>` }] : []),
      ...(source.xMailer ? [{ name: "X-Mailer", value: rewriter.rewriteText(source.xMailer) }] : []),
      ...(source.xPriority ? [{ name: "X-Priority", value: source.xPriority }] : []),
    ];
    const message: CorpusMessage = {
      folder,
      subject,
      from,
      to,
      cc,
      receivedAt,
      internetMessageId,
      conversationKey: hashHex(seed, "conversation", threads.find(keyOf(source))).slice(0, 32),
      headers,
      attachments,
      isRead,
      flagged: folder !== "junkemail" && hashUnit(seed, "flag", source.file) < 0.05,
      importance: importanceOf(source, seed),
    };
    if (inReplyTo) message.inReplyTo = inReplyTo;
    if (references.length) message.references = references;
    if (source.html) message.bodyHtml = rewriter.rewriteText(source.html);
    if (source.text) message.bodyText = rewriter.rewriteText(source.text);
    if (!message.bodyHtml && !message.bodyText) message.bodyText = "";
    fromCorpus.push(message);
  }

  return [...generated, ...fromCorpus].sort((a, b) => a.receivedAt - b.receivedAt);
}

/** Addresses in a message (fields, header values, bodies): for tests that check nothing leaks. */
export function addressesIn(message: CorpusMessage): string[] {
  const found: string[] = [
    message.from.address,
    ...message.to.map((a) => a.address),
    ...message.cc.map((a) => a.address),
  ];
  const pattern = /[A-Za-z0-9._%+=-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
  for (const text of [
    message.bodyHtml ?? "",
    message.bodyText ?? "",
    ...message.headers.map((h) => h.value),
  ]) {
    for (const match of text.matchAll(pattern)) found.push(match[0]);
  }
  return found;
}
