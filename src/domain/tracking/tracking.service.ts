// Email tracking (reference unipile §3.5; docs/adr/0009-email-tracking.md). The send path asks it to
// instrument a body (`prepare`) and to remember the tracked send (`remember`); the pixel and click
// routes hand it hits (`open`, `click`), which it verifies in memory and queues without touching the
// database; the recorder's flushes store them with their webhook events in one transaction.
import type { Clock } from "../../lib/clock.ts";
import { newId } from "../../lib/ids.ts";
import type { TrackedEmailRow, TrackingRepository } from "../../storage/repositories/tracking.repository.ts";
import type { UnitOfWork, UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import { isHtmlBody, type SendInput, type SendTracking, type TrackingAnswer } from "../email/send.service.ts";
import type { PublishedEvent } from "../webhooks/outbox.ts";
import { instrumentHtml } from "./instrument.ts";
import { type RecorderLogger, type RecorderOptions, type TrackingHit, TrackingRecorder } from "./recorder.ts";
import { TrackingTokens, trackingUrls } from "./token.ts";
import { trackingBatch } from "./tracking-events.ts";
import type { TrackingKey } from "./tracking-key.ts";

export interface TrackingDeps {
  key: Pick<TrackingKey, "get">;
  repo: Pick<TrackingRepository, "insertEmail" | "recentOfAccount" | "recentEvents">;
  transaction: UnitOfWorkRunner;
  outbox: { publishIn(uow: UnitOfWork, events: readonly PublishedEvent[]): Promise<unknown> };
  clock: Clock;
  log: RecorderLogger;
  /** Where tracked URLs point when the send names no custom_domain. */
  publicUrl: string;
  recorder?: RecorderOptions;
}

/** Who made a request to a tracked URL. */
export interface HitSource {
  ip: string | undefined;
  userAgent: string | undefined;
}

export interface TrackedEmailView {
  row: TrackedEmailRow;
  events: Awaited<ReturnType<TrackingRepository["recentEvents"]>>;
}

export class TrackingService implements SendTracking {
  readonly recorder: TrackingRecorder;
  private tokens: TrackingTokens | undefined;

  constructor(private readonly d: TrackingDeps) {
    this.recorder = new TrackingRecorder((hits) => this.store(hits), d.clock, d.log, d.recorder);
  }

  /** Loads the key, so the tracking routes verify tokens without waiting on the database. */
  async start(): Promise<void> {
    await this.signer();
  }

  async close(): Promise<void> {
    await this.recorder.close();
  }

  async prepare(
    input: SendInput,
    trackingId: string,
  ): Promise<{ body: string; answer: TrackingAnswer; tracked: boolean }> {
    const options = input.tracking ?? { opens: false, links: false };
    if (!isHtmlBody(input.body))
      return {
        body: input.body,
        tracked: false,
        answer: { opens: false, links: false, tracked_links: 0, reason: "plain_text_body" },
      };
    if (!options.opens && !options.links)
      return {
        body: input.body,
        tracked: false,
        answer: { opens: false, links: false, tracked_links: 0, reason: "not_requested" },
      };
    const base = options.customDomain ? `https://${options.customDomain}` : this.d.publicUrl;
    const urls = trackingUrls(await this.signer(), base, trackingId);
    const result = instrumentHtml(input.body, options, urls);
    return {
      body: result.html,
      tracked: true,
      answer: { opens: result.opens, links: options.links, tracked_links: result.links },
    };
  }

  async remember(sent: { trackingId: string; accountId: string; emailId: string; input: SendInput }) {
    const options = sent.input.tracking ?? { opens: false, links: false };
    await this.d.repo.insertEmail({
      tracking_id: sent.trackingId,
      account_id: sent.accountId,
      email_id: sent.emailId,
      subject: sent.input.subject ?? null,
      recipient: sent.input.to[0]?.identifier.trim() ?? null,
      label: options.label ?? null,
      custom_domain: options.customDomain ?? null,
      opens: options.opens ? 1 : 0,
      links: options.links ? 1 : 0,
      sent_at: this.d.clock.now(),
      open_count: 0,
      click_count: 0,
      prefetch_count: 0,
      first_open_at: null,
      last_event_at: null,
      last_click_at: null,
    });
  }

  /** A pixel request: queued when its token is Mailroom's; nothing is said either way. */
  open(token: string, source: HitSource): void {
    const target = this.tokens?.verify(token);
    if (target?.kind !== "open") {
      if (!this.tokens) void this.start().catch(() => {});
      return;
    }
    this.recorder.record({ target, ...source, at: this.d.clock.now() });
  }

  /**
   * A click: the target to redirect to when the token is Mailroom's, else undefined (404); a promise of
   * it only before the key is loaded. Recorded only when `record` (a GET; a HEAD probe is answered but
   * is not a click).
   */
  click(token: string, source: HitSource, record = true): string | undefined | Promise<string | undefined> {
    // Synchronous once the key is loaded (start()), so the click route allocates no promise.
    if (!this.tokens) return this.signer().then(() => this.click(token, source, record));
    const target = this.tokens.verify(token);
    if (target?.kind !== "click") return undefined;
    if (record) this.recorder.record({ target, ...source, at: this.d.clock.now() });
    return target.url;
  }

  /** An account's recent tracked sends, each with its latest events, for the dashboard. */
  async recentOfAccount(accountId: string, limit = 20, eventsPerEmail = 5): Promise<TrackedEmailView[]> {
    const rows = await this.d.repo.recentOfAccount(accountId, limit);
    const events = await this.d.repo.recentEvents(
      rows.map((r) => r.tracking_id),
      eventsPerEmail,
    );
    return rows.map((row) => ({ row, events: events.filter((e) => e.tracking_id === row.tracking_id) }));
  }

  private async signer(): Promise<TrackingTokens> {
    this.tokens ??= new TrackingTokens(await this.d.key.get());
    return this.tokens;
  }

  /** One flush: the batch's events, their sends' counts and their webhook events, in one transaction. */
  private async store(hits: TrackingHit[]): Promise<void> {
    const ids = [...new Set(hits.map((h) => h.target.trackingId))];
    await this.d.transaction(async (uow) => {
      const emails = await uow.tracking.findEmails(ids);
      const batch = trackingBatch(hits, emails, () => newId());
      if (batch.rows.length === 0) return;
      await uow.tracking.insertEvents(batch.rows);
      for (const [trackingId, counts] of batch.counts) await uow.tracking.addCounts(trackingId, counts);
      await this.d.outbox.publishIn(uow, batch.published);
    });
  }
}
