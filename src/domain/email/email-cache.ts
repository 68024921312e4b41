// A bounded, per-process cache of mapped Unipile emails (docs/adr/0008-email-cache.md). An entry is
// served only when Graph, asked in the same API call, names the same version of the message: its
// `changeKey` and folder, and the folder's name and role as Mailroom maps them. So an entry can be
// unused, never stale, and processes need not share anything. Realtime forgets the messages its delta
// rounds see, which frees memory early; correctness does not depend on it.
import type { EmailObject } from "./email.types.ts";

export interface EmailCacheOptions {
  /** Total estimated bytes held; 0 turns the cache off. */
  maxBytes: number;
  /** At most this many estimated bytes per account, so one mailbox cannot push out every other. */
  maxBytesPerAccount: number;
}

export interface EmailCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
  invalidations: number;
  /** Pages (ids in order, and their cursor) remembered at a mailbox version. */
  pages: number;
  /** Pages and emails served at a mailbox version realtime had seen, without asking Graph. */
  seenHits: number;
}

export type CachedKind = "1_meta" | "2_full";

interface Entry {
  key: string;
  accountId: string;
  version: string;
  email: EmailObject;
  bytes: number;
  /** The cache's and the account's use counts when the entry last went to the newest end (`touch`). */
  used: number;
  usedInAccount: number;
  /** The mailbox version (`mail_version`) at which Graph last named this version of the message. */
  seenAt: number | undefined;
}

/** A page as Graph listed it: its emails' keys and versions in order, and the page's cursor. */
interface CachedPage {
  accountId: string;
  mailVersion: number;
  keys: string[];
  versions: string[];
  cursor: string | null;
}

/** Pages remembered, over all accounts (each a few hundred bytes: its keys share the entries' strings). */
const MAX_PAGES = 4096;

interface AccountEntries {
  bytes: number;
  /** Whether page reads first ask for versions only (see worthProbing). */
  probe: boolean;
  /** Oldest use first. */
  keys: Map<string, Entry>;
  /** Counts sets and moves to the newest end within the account. */
  uses: number;
}

/** What an entry costs beyond its bodies: the object's other fields and the Map slots (an estimate). */
const ENTRY_OVERHEAD_BYTES = 2048;

/**
 * Estimated memory of one cached email: its strings are held twice (the object and its serialised
 * JSON, kept beside it by the HTTP layer), at up to 2 bytes per character.
 */
export function estimateBytes(email: EmailObject): number {
  return ENTRY_OVERHEAD_BYTES + 4 * ((email.body?.length ?? 0) + (email.body_plain?.length ?? 0));
}

/**
 * The version an entry is valid for: Graph's changeKey (a new one with every change to the item, its
 * body and attachments included) plus what the mapping takes from outside the message.
 */
export function emailVersion(
  changeKey: string | null | undefined,
  parentFolderId: string | null | undefined,
  folder: { name: string; role: string } | undefined,
  mailbox: string,
): string | undefined {
  if (!changeKey) return undefined;
  return `${changeKey}\n${parentFolderId ?? ""}\n${folder?.name ?? ""}\n${folder?.role ?? ""}\n${mailbox}`;
}

export class EmailCache {
  private readonly entries = new Map<string, Entry>();
  private readonly accounts = new Map<string, AccountEntries>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private invalidations = 0;
  /** Counts sets and moves to the newest end; an entry's distance from it bounds its place in line. */
  private uses = 0;
  /** By account and page key, least recently used first. */
  private readonly pages = new Map<string, CachedPage>();
  private seenHits = 0;

  constructor(private readonly options: EmailCacheOptions) {}

  get enabled(): boolean {
    return this.options.maxBytes > 0 && this.options.maxBytesPerAccount > 0;
  }

  /** Whether the account has any entry (else a read goes straight to Graph for everything). */
  holds(accountId: string): boolean {
    return (this.accounts.get(accountId)?.keys.size ?? 0) > 0;
  }

  /**
   * Whether a page read should first ask Graph for versions only: the account has entries and its
   * last full page read found at least half of its emails cached (a walk through mail never read
   * before does not pay a version read per page).
   */
  worthProbing(accountId: string): boolean {
    const account = this.accounts.get(accountId);
    return account !== undefined && account.keys.size > 0 && account.probe;
  }

  /** A full page read took `reused` of its `total` emails from the cache. */
  recordPageRead(accountId: string, reused: number, total: number): void {
    const account = this.accounts.get(accountId);
    if (account) account.probe = total > 0 && reused * 2 >= total;
  }

  /** Whether some version of the message is held. */
  has(accountId: string, kind: CachedKind, graphId: string): boolean {
    return this.entries.has(key(accountId, kind, graphId));
  }

  /** The email mapped from exactly `version` of the message, or undefined (counted as a miss). */
  get(
    accountId: string,
    kind: CachedKind,
    graphId: string,
    version: string | undefined,
    mailVersion?: number,
  ): EmailObject | undefined {
    const k = key(accountId, kind, graphId);
    const entry = this.entries.get(k);
    if (!entry || version === undefined || entry.version !== version) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Graph named this version within a call that began at `mailVersion`: it was current then.
    if (mailVersion !== undefined) entry.seenAt = mailVersion;
    this.touch(entry);
    return entry.email;
  }

  /**
   * The email as Graph last named it, if that was at `mailVersion` (the mailbox has not changed since,
   * as far as Mailroom has seen): served without asking Graph.
   */
  getSeen(
    accountId: string,
    kind: CachedKind,
    graphId: string,
    mailVersion: number,
  ): EmailObject | undefined {
    const entry = this.entries.get(key(accountId, kind, graphId));
    if (!entry || entry.seenAt !== mailVersion) return undefined;
    this.seenHits++;
    this.touch(entry);
    return entry.email;
  }

  /**
   * Remembers a page as Graph listed it at `mailVersion`: the emails on it (each must be cached now,
   * else nothing is remembered) and its cursor.
   */
  setPage(
    accountId: string,
    pageKey: string,
    mailVersion: number,
    kind: CachedKind,
    graphIds: readonly string[],
    cursor: string | null,
  ): void {
    if (!this.enabled) return;
    const keys: string[] = [];
    const versions: string[] = [];
    for (const graphId of graphIds) {
      const entry = this.entries.get(key(accountId, kind, graphId));
      if (!entry) return;
      keys.push(entry.key);
      versions.push(entry.version);
    }
    const k = `${accountId}\n${pageKey}`;
    this.pages.delete(k);
    if (this.pages.size >= MAX_PAGES) this.pages.delete(this.pages.keys().next().value as string);
    this.pages.set(k, { accountId, mailVersion, keys, versions, cursor });
  }

  /**
   * The page remembered at `mailVersion`, when every email on it is still cached at the version the
   * page was listed with; otherwise undefined (and a page of an older mailbox version is dropped).
   */
  getPage(
    accountId: string,
    pageKey: string,
    mailVersion: number,
  ): { items: EmailObject[]; cursor: string | null; remembered: object } | undefined {
    const k = `${accountId}\n${pageKey}`;
    const page = this.pages.get(k);
    if (!page) return undefined;
    if (page.mailVersion !== mailVersion) {
      this.pages.delete(k);
      return undefined;
    }
    const entries: Entry[] = [];
    for (let i = 0; i < page.keys.length; i++) {
      const entry = this.entries.get(page.keys[i]!);
      if (!entry || entry.version !== page.versions[i]) {
        this.pages.delete(k);
        return undefined;
      }
      entries.push(entry);
    }
    for (const entry of entries) this.touch(entry);
    // Least recently used pages go first.
    this.pages.delete(k);
    this.pages.set(k, page);
    this.seenHits++;
    const items = entries.map((entry) => entry.email);
    return { items, cursor: page.cursor, remembered: page };
  }

  set(
    accountId: string,
    kind: CachedKind,
    graphId: string,
    version: string | undefined,
    email: EmailObject,
    mailVersion?: number,
  ): void {
    if (!this.enabled || version === undefined) return;
    const bytes = estimateBytes(email);
    if (bytes > this.options.maxBytesPerAccount) return;
    const k = key(accountId, kind, graphId);
    const old = this.entries.get(k);
    if (old) this.remove(old);
    let account = this.accounts.get(accountId);
    if (!account) {
      account = { bytes: 0, probe: true, keys: new Map(), uses: 0 };
      this.accounts.set(accountId, account);
    }
    const entry: Entry = {
      key: k,
      accountId,
      version,
      email,
      bytes,
      used: ++this.uses,
      usedInAccount: ++account.uses,
      seenAt: mailVersion,
    };
    this.entries.set(k, entry);
    account.keys.set(k, entry);
    account.bytes += bytes;
    this.bytes += bytes;
    while (account.bytes > this.options.maxBytesPerAccount) this.evictOldest(account.keys);
    while (this.bytes > this.options.maxBytes) this.evictOldest(this.entries);
  }

  /** Drops every kind of entry for these messages (realtime saw them change, move or go). */
  forget(accountId: string, graphIds: Iterable<string>): void {
    for (const graphId of graphIds) {
      for (const kind of ["1_meta", "2_full"] as const) {
        const entry = this.entries.get(key(accountId, kind, graphId));
        if (entry) {
          this.remove(entry);
          this.invalidations++;
        }
      }
    }
  }

  /** Drops the account's entries (deleted, or its sign-in lost). */
  forgetAccount(accountId: string): void {
    for (const [k, page] of this.pages) if (page.accountId === accountId) this.pages.delete(k);
    const account = this.accounts.get(accountId);
    if (!account) return;
    for (const entry of [...account.keys.values()]) {
      this.remove(entry);
      this.invalidations++;
    }
  }

  stats(): EmailCacheStats {
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      invalidations: this.invalidations,
      pages: this.pages.size,
      seenHits: this.seenHits,
    };
  }

  /**
   * Moves a used entry to the newest end of both orders, unless fewer than half the entries (of the
   * cache, and of the account) have been set or moved since it last was: it is then still in the newer
   * half of each order (every move puts at most one entry after it), far from eviction, so a page
   * served again and again costs no reordering.
   */
  private touch(entry: Entry): void {
    const account = this.accounts.get(entry.accountId);
    if (!account) return;
    if (
      this.uses - entry.used < this.entries.size / 2 &&
      account.uses - entry.usedInAccount < account.keys.size / 2
    )
      return;
    entry.used = ++this.uses;
    entry.usedInAccount = ++account.uses;
    this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
    account.keys.delete(entry.key);
    account.keys.set(entry.key, entry);
  }

  private evictOldest(map: Map<string, Entry>): void {
    const oldest = map.values().next().value as Entry | undefined;
    if (!oldest) return;
    this.remove(oldest);
    this.evictions++;
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.key);
    this.bytes -= entry.bytes;
    const account = this.accounts.get(entry.accountId);
    if (!account) return;
    account.keys.delete(entry.key);
    account.bytes -= entry.bytes;
    if (account.keys.size === 0) this.accounts.delete(entry.accountId);
  }
}

function key(accountId: string, kind: CachedKind, graphId: string): string {
  return `${accountId}\n${kind}\n${graphId}`;
}
