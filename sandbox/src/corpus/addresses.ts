// Deterministic rewriting of every real-world address in the corpus into sandbox people and domains.
// The SpamAssassin corpus is real 2002 mail; no third-party address may leak into sandbox mailboxes.

import { hashHex, hashUnit, pick } from "./random.ts";
import type { CorpusAddress } from "./types.ts";

const FIRST_NAMES = [
  "Alice",
  "Bruno",
  "Chloé",
  "Dmitri",
  "Elena",
  "Farid",
  "Grace",
  "Hiro",
  "Ingrid",
  "Jonas",
  "Keiko",
  "Liam",
  "Maya",
  "Noah",
  "Olga",
  "Pablo",
  "Quinn",
  "Rosa",
  "Sanjay",
  "Tomás",
  "Uma",
  "Victor",
  "Wen",
  "Ximena",
  "Yusuf",
  "Zoë",
  "Amara",
  "Björn",
  "Carmen",
  "Deepa",
] as const;
const LAST_NAMES = [
  "Andersen",
  "Baker",
  "Costa",
  "Dubois",
  "Eriksson",
  "Fischer",
  "García",
  "Hughes",
  "Ivanova",
  "Jensen",
  "Kowalski",
  "López",
  "Müller",
  "Nakamura",
  "Okafor",
  "Patel",
  "Quintero",
  "Rossi",
  "Schmidt",
  "Tanaka",
  "Umarov",
  "Varga",
  "Walsh",
  "Xu",
  "Yilmaz",
  "Zhang",
  "Novak",
  "Silva",
  "Moreau",
  "Khan",
] as const;

export const EMAIL_PATTERN = /[A-Za-z0-9._%+=-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;

/** Addresses of the original corpus owner(s) (the SpamAssassin maintainers anonymised them as zzzz/yyyy). */
const CORPUS_OWNER_LOCAL = /^(zzzz|yyyy)(?:[-+@.]|$)/i;

function asciiLocal(text: string): string {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "");
}

export interface AddressRewriterOptions {
  seed: string;
  domains: { work: string[]; personal: string[] };
  people: { name: string; address: string }[];
  owner: { name: string; address: string };
  /** Original addresses (lower case) that become the owner. */
  ownerAliases: Set<string>;
  /** Local parts of mailing-list addresses: kept (they are not people), moved to a sandbox domain. */
  listLocalParts: Set<string>;
}

export class AddressRewriter {
  private readonly byOriginal = new Map<string, CorpusAddress>();
  private readonly taken = new Set<string>();
  private readonly allDomains: string[];
  private readonly others: { name: string; address: string }[];

  constructor(private readonly options: AddressRewriterOptions) {
    this.allDomains = [...options.domains.work, ...options.domains.personal];
    if (this.allDomains.length === 0) throw new Error("loadCorpus needs at least one sandbox domain");
    const ownerAddress = options.owner.address.toLowerCase();
    this.others = options.people.filter((person) => person.address.toLowerCase() !== ownerAddress);
    this.taken.add(ownerAddress);
    for (const person of options.people) this.taken.add(person.address.toLowerCase());
  }

  get listDomain(): string {
    return this.options.domains.work[0] ?? this.allDomains[0]!;
  }

  /** Maps any original domain (or token) onto one sandbox domain, stably. */
  domainFor(original: string): string {
    return pick(this.allDomains, this.options.seed, "domain", original.toLowerCase());
  }

  isOwner(address: string): boolean {
    const lower = address.toLowerCase();
    return this.options.ownerAliases.has(lower) || CORPUS_OWNER_LOCAL.test(lower);
  }

  rewrite(original: { name?: string; address: string }): CorpusAddress {
    const lower = original.address.toLowerCase();
    const known = this.byOriginal.get(lower);
    if (known) return { ...known };
    const mapped = this.map(lower);
    this.byOriginal.set(lower, mapped);
    return { ...mapped };
  }

  /** Replaces every address-looking token in free text (bodies, header values). */
  rewriteText(text: string): string {
    return text.replace(EMAIL_PATTERN, (match) => this.rewrite({ address: match }).address);
  }

  /** Rewrites a Message-ID so threads survive but no real host leaks: same input, same output. */
  rewriteMessageId(original: string): string {
    const bare = original.trim().replace(/^<|>$/g, "");
    const host = bare.includes("@") ? bare.slice(bare.lastIndexOf("@") + 1) : bare;
    return `<${hashHex("message-id", bare).slice(0, 24).toUpperCase()}@${this.domainFor(host)}>`;
  }

  private map(lower: string): CorpusAddress {
    const { owner, seed } = this.options;
    if (this.isOwner(lower)) return { name: owner.name, address: owner.address };
    const local = lower.slice(0, lower.indexOf("@"));
    const listLocal = [...this.options.listLocalParts].find(
      (list) => local === list || local.startsWith(`${list}-`),
    );
    if (listLocal) {
      const address = `${local}@${this.listDomain}`;
      this.taken.add(address);
      return { name: listLocal, address };
    }
    if (this.others.length > 0 && hashUnit(seed, "person", lower) < 0.12) {
      const person = pick(this.others, seed, "person-pick", lower);
      return { name: person.name, address: person.address };
    }
    const first = pick(FIRST_NAMES, seed, "first", lower);
    const last = pick(LAST_NAMES, seed, "last", lower);
    const usePersonal = this.options.domains.personal.length > 0 && hashUnit(seed, "personal", lower) < 0.3;
    const pool = usePersonal ? this.options.domains.personal : this.options.domains.work;
    const domain = pick(pool.length > 0 ? pool : this.allDomains, seed, "mailbox-domain", lower);
    const base = `${asciiLocal(first)}.${asciiLocal(last)}`;
    let address = `${base}@${domain}`;
    for (let n = 2; this.taken.has(address); n++) address = `${base}${n}@${domain}`;
    this.taken.add(address);
    return { name: `${first} ${last}`, address };
  }
}
