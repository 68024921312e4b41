// The sent-mail log: `SendService` records each mail it sends (account, the sent message's Graph
// immutable id, `tracking_id`, time) just before Graph's `/send`, so by the time a delta sync sees
// the message in Sent Items it is known; realtime reads it for `origin` / `tracking_id` on mail_sent.
// Housekeeping forgets sends after SENT_MESSAGE_RETENTION_DAYS (a mail_sent is seen within minutes).
import type { Clock } from "../../lib/clock.ts";
import type { SentMessageRepository } from "../../storage/repositories/sent-message.repository.ts";
import type { SentRecorder } from "../email/send.service.ts";
import { messageKey } from "./mail-events.ts";
import type { SentOrigin, SentOriginLookup } from "./realtime.types.ts";

export class SentMailLog implements SentRecorder, SentOriginLookup {
  constructor(
    private readonly repo: SentMessageRepository,
    private readonly clock: Clock,
  ) {}

  async record(accountId: string, graphId: string, trackingId: string): Promise<void> {
    await this.repo.record({
      account_id: accountId,
      message_key: messageKey(graphId),
      tracking_id: trackingId,
      sent_at: this.clock.now(),
    });
  }

  async forget(accountId: string, graphId: string): Promise<void> {
    await this.repo.forget(accountId, messageKey(graphId));
  }

  async originOf(accountId: string, graphId: string): Promise<SentOrigin> {
    const row = await this.repo.find(accountId, messageKey(graphId));
    return row ? { origin: "unipile", trackingId: row.tracking_id } : { origin: "external" };
  }
}
