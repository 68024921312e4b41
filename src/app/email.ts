// Wires the email API (read and send sides): one Graph client and one per-mailbox limiter, in-process
// unless the caller passes a shared one (scaled mode: every process takes slots from Redis).
import type { Registry } from "prom-client";
import type { Config } from "../config/config.ts";
import { EmailService } from "../domain/email/email.service.ts";
import type { EmailCache } from "../domain/email/email-cache.ts";
import { FolderDirectory } from "../domain/email/folder-directory.ts";
import { SendService, type SendTracking, type SentRecorder } from "../domain/email/send.service.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/logger.ts";
import { type AccessTokens, GraphClient } from "../providers/microsoft/graph-client.ts";
import type { GraphTransport } from "../providers/microsoft/graph-transport.ts";
import { KeyedLimiter, MAILBOX_CONCURRENCY, type MailboxLimiter } from "../providers/microsoft/limiter.ts";
import type { AccountRepository } from "../storage/repositories/account.repository.ts";
import { createEmailCache } from "./email-cache.ts";

export function createEmailService(deps: {
  config: Config;
  accounts: AccountRepository;
  tokens: AccessTokens;
  clock: Clock;
  log: Logger;
  fetch: typeof fetch;
  /** How Graph calls are sent; default: through `fetch`. */
  graphTransport?: GraphTransport;
  /** Where sends are recorded (realtime's sent-mail log, for `origin` on mail_sent). */
  sent?: SentRecorder;
  /** Email tracking: instruments bodies sent with tracking_options. */
  tracking?: SendTracking;
  /** The per-mailbox limiter every Graph call (API reads, sends, polling, sync) goes through. */
  limiter?: MailboxLimiter;
  /** Where the email cache's figures are exported (/metrics). */
  registry?: Registry;
  /** Records that Mailroom changed an account's mailbox (its `mail_version`, read by every process). */
  mailChanged?: (accountId: string) => Promise<void>;
}): { email: EmailService; send: SendService; graph: GraphClient; cache: EmailCache } {
  const graph = new GraphClient({
    baseUrl: deps.config.microsoft.graphUrl,
    fetch: deps.fetch,
    ...(deps.graphTransport ? { transport: deps.graphTransport } : {}),
    tokens: deps.tokens,
    limiter: deps.limiter ?? new KeyedLimiter(MAILBOX_CONCURRENCY),
    ...(deps.mailChanged ? { onMailboxWrite: deps.mailChanged } : {}),
    log: deps.log.child({ component: "graph" }),
    now: () => deps.clock.now(),
  });
  const folders = new FolderDirectory(graph, deps.clock);
  const cache = createEmailCache(deps.config, deps.registry);
  const email = new EmailService({
    cache,
    trustRealtimeMs: trustRealtimeMs(deps.config),
    accounts: deps.accounts,
    graph,
    folders,
    clock: deps.clock,
    log: deps.log,
  });
  const send = new SendService({
    accounts: deps.accounts,
    graph,
    log: deps.log.child({ component: "send" }),
    maxMessageBytes: deps.config.maxMessageBytes,
    ...(deps.sent ? { sent: deps.sent } : {}),
    ...(deps.tracking ? { tracking: deps.tracking } : {}),
  });
  return { email, send, graph, cache };
}

/**
 * How recent realtime's last sync of a mailbox must be for reads to be served as Mailroom last saw it
 * (EMAIL_CACHE_REVALIDATE=on-change): two poll intervals and a margin, so a mailbox polled on time is
 * always within it and one whose polls stall (or whose sign-in fails) drops out of it; never more than
 * two minutes, however long the poll interval.
 */
function trustRealtimeMs(config: Config): number {
  if (config.emailCache.revalidate !== "on-change") return 0;
  return Math.min(2 * config.realtime.pollIntervalMs + 5_000, 120_000);
}
