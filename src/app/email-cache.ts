// The per-process cache of mapped emails (docs/adr/0008-email-cache.md), sized from the configuration,
// and its figures in /metrics (read from the cache at scrape time).
import { Counter, Gauge, type Registry } from "prom-client";
import type { Config } from "../config/config.ts";
import { EmailCache, type EmailCacheStats } from "../domain/email/email-cache.ts";

export function createEmailCache(config: Config, registry: Registry | undefined): EmailCache {
  const cache = new EmailCache(config.emailCache);
  if (registry) registerEmailCacheMetrics(cache, registry, config);
  return cache;
}

function registerEmailCacheMetrics(cache: EmailCache, registry: Registry, config: Config): void {
  const gauge = (name: string, help: string, read: (s: EmailCacheStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(cache.stats()));
      },
    });
  // Counted by the cache; each scrape reports its running total.
  const counter = (name: string, help: string, read: (s: EmailCacheStats) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(cache.stats()));
      },
    });
  gauge("mailroom_email_cache_entries", "Mapped emails held by this process's email cache", (s) => s.entries);
  gauge(
    "mailroom_email_cache_bytes",
    "Estimated memory of the email cache (bounded by EMAIL_CACHE_MB)",
    (s) => s.bytes,
  );
  gauge(
    "mailroom_email_cache_max_bytes",
    "The email cache's bound (EMAIL_CACHE_MB; 0 = off)",
    () => config.emailCache.maxBytes,
  );
  counter(
    "mailroom_email_cache_hits_total",
    "Emails served from the cache after Graph named the same version",
    (s) => s.hits,
  );
  counter(
    "mailroom_email_cache_misses_total",
    "Cache lookups that found no entry at the version Graph named",
    (s) => s.misses,
  );
  counter(
    "mailroom_email_cache_evictions_total",
    "Entries dropped to stay within EMAIL_CACHE_MB or EMAIL_CACHE_ACCOUNT_MB",
    (s) => s.evictions,
  );
  counter(
    "mailroom_email_cache_invalidations_total",
    "Entries dropped because realtime or Mailroom's own writes saw the message change",
    (s) => s.invalidations,
  );
  gauge(
    "mailroom_email_cache_pages",
    "List and search pages remembered at the mailbox version they were read at",
    (s) => s.pages,
  );
  counter(
    "mailroom_email_cache_unchanged_hits_total",
    "Pages and emails served without asking Graph: the mailbox had not changed since, as far as realtime and Mailroom's own writes have seen (EMAIL_CACHE_REVALIDATE=on-change)",
    (s) => s.seenHits,
  );
}
