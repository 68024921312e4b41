// Scheduled send (docs/adr/0011-send-once-and-scheduled.md): `send_at` on POST /api/v1/emails builds
// the draft in the mailbox now (attachments included: Mailroom stores no bytes), then records the
// schedule and enqueues its send job for `send_at` in one transaction. The job (scheduled-send.job.ts)
// sends the draft when due. Cancelling marks the schedule and enqueues the draft's deletion together.

import type { JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type {
  ScheduledEmailRepository,
  ScheduledEmailRow,
  ScheduledStatus,
} from "../../storage/repositories/scheduled-email.repository.ts";
import type { UnitOfWork, UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { AccountEventListener } from "../accounts/account-events.ts";
import type { SendInput, SendService } from "../email/send.service.ts";
import type { IdempotentRun } from "../idempotency/idempotency.service.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import { parseSendAt, SCHEDULED_SEND_MAX_ATTEMPTS } from "./schedule-rules.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "email.scheduled-send": { scheduleId: string };
    "email.scheduled-discard": { accountId: string; draftId: string };
  }
}

export const SCHEDULED_SEND_JOB = "email.scheduled-send";
export const SCHEDULED_DISCARD_JOB = "email.scheduled-discard";

export interface EmailScheduled {
  object: "EmailScheduled";
  schedule_id: string;
  tracking_id: string;
  send_at: string;
}

export interface ScheduledEmail {
  object: "ScheduledEmail";
  schedule_id: string;
  account_id: string;
  send_at: string;
  status: ScheduledStatus;
  subject: string | null;
  to_attendees: { identifier: string; display_name?: string }[];
  tracking_id: string;
  error?: string;
  waiting_reason?: string;
  sent_at?: string;
}

/** Where an interrupted schedule request got to: the draft it built. */
export interface ScheduleCheckpoint {
  accountId: string;
  draftId: string;
}

export class ScheduledSendService {
  constructor(
    private readonly deps: {
      repo: ScheduledEmailRepository;
      transaction: UnitOfWorkRunner;
      queue: JobQueue;
      send: SendService;
      clock: Clock;
      maxAheadMs: number;
    },
  ) {}

  async schedule(input: SendInput, run?: IdempotentRun<ScheduleCheckpoint>): Promise<EmailScheduled> {
    const { send, clock } = this.deps;
    const sendAt = parseSendAt(input.send_at, clock.now(), this.deps.maxAheadMs);
    const ownsDraft = input.draft_id === undefined;
    const previous = run?.checkpoint;
    if (previous) {
      const existing = await this.deps.repo.findByDraft(previous.accountId, previous.draftId);
      if (existing) return scheduledAnswer(existing);
      if (ownsDraft) await send.discard(previous.accountId, previous.draftId);
    }
    const trackingId = send.newTrackingId();
    const { account, draftId } = await send.prepareSend(input, trackingId, (accountId, id) =>
      run ? run.save({ accountId, draftId: id }) : Promise.resolve(),
    );
    const now = clock.now();
    const row: ScheduledEmailRow = {
      id: newId(),
      account_id: account.id,
      draft_id: draftId,
      owns_draft: ownsDraft ? 1 : 0,
      tracking_id: trackingId,
      send_at: sendAt,
      status: "scheduled",
      subject: input.subject ?? null,
      to_attendees: JSON.stringify(input.to),
      error: null,
      waiting_reason: null,
      attempts: 0,
      created_at: now,
      updated_at: now,
      sent_at: null,
    };
    try {
      await this.deps.transaction(async (uow) => {
        await uow.scheduledEmails.insert(row);
        await this.deps.queue.enqueue(
          SCHEDULED_SEND_JOB,
          { scheduleId: row.id },
          {
            transaction: uow.tx,
            runAt: sendAt,
            idempotencyKey: `scheduled-send:${row.id}`,
            exclusiveKey: `scheduled-send:${row.id}`,
            maxAttempts: SCHEDULED_SEND_MAX_ATTEMPTS,
          },
        );
      });
    } catch (error) {
      if (ownsDraft) await send.discard(account.id, draftId);
      throw error;
    }
    return scheduledAnswer(row);
  }

  async get(id: string): Promise<ScheduledEmail> {
    const row = await this.deps.repo.find(id);
    if (!row) throw new AppError("resource_not_found", { detail: `Scheduled email ${id} not found` });
    return toView(row);
  }

  async list(query: {
    account_id?: string | undefined;
    cursor?: string | undefined;
    limit?: number | undefined;
  }): Promise<{ object: "ScheduledEmailList"; items: ScheduledEmail[]; cursor: string | null }> {
    const limit = query.limit ?? 100;
    let after: { sendAt: number; id: string } | undefined;
    if (query.cursor !== undefined) {
      const c = decodeCursor(query.cursor);
      if (typeof c.s !== "number" || typeof c.i !== "string")
        throw new AppError("invalid_parameters", {
          detail: "cursor: not a cursor returned by this endpoint",
        });
      after = { sendAt: c.s, id: c.i };
    }
    const rows = await this.deps.repo.page({ accountId: query.account_id, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      object: "ScheduledEmailList",
      items: page.map(toView),
      cursor: rows.length > limit && last ? encodeCursor({ s: last.send_at, i: last.id }) : null,
    };
  }

  /** Cancels a schedule not yet being sent: 409 once sending, sent, failed or cancelled. */
  async cancel(id: string): Promise<ScheduledEmail> {
    const row = await this.deps.repo.find(id);
    if (!row) throw new AppError("resource_not_found", { detail: `Scheduled email ${id} not found` });
    const cancelled = await this.deps.transaction((uow) => this.cancelIn(uow, row, null));
    if (!cancelled)
      throw new AppError("operation_canceled", {
        detail: `Scheduled email ${id} can no longer be cancelled: it is ${(await this.deps.repo.find(id))?.status ?? "gone"}.`,
      });
    return this.get(id);
  }

  /** Cancels every schedule of an account (it was deleted). */
  async cancelForAccount(accountId: string, reason: string): Promise<number> {
    let count = 0;
    for (const row of await this.deps.repo.pendingOf(accountId, ["scheduled"]))
      if (await this.deps.transaction((uow) => this.cancelIn(uow, row, reason, false))) count++;
    return count;
  }

  /**
   * Cancels the schedules of a deleted account (its drafts went with it: nothing to delete), and sends
   * at once the due ones of an account that was reconnected.
   */
  accountListener(): AccountEventListener {
    return {
      name: "scheduled_send",
      handle: async (event) => {
        if (event.type === "DELETED")
          await this.cancelForAccount(event.accountId, "The account was deleted.");
        if (event.type !== "RECONNECTED") return;
        // Due sends waited (snoozed) for the account: send them now rather than at their next look.
        const now = this.deps.clock.now();
        for (const row of await this.deps.repo.pendingOf(event.accountId, ["scheduled", "sending"]))
          if (row.send_at <= now)
            await this.deps.queue.enqueue(
              SCHEDULED_SEND_JOB,
              { scheduleId: row.id },
              {
                idempotencyKey: `scheduled-send:${row.id}:${event.id}`,
                exclusiveKey: `scheduled-send:${row.id}`,
                maxAttempts: SCHEDULED_SEND_MAX_ATTEMPTS,
              },
            );
      },
    };
  }

  private async cancelIn(
    uow: UnitOfWork,
    row: ScheduledEmailRow,
    reason: string | null,
    discardDraft = true,
  ): Promise<boolean> {
    const moved = await uow.scheduledEmails.transition(row.id, ["scheduled"], "cancelled", {
      error: reason,
      waiting_reason: null,
      updated_at: this.deps.clock.now(),
    });
    if (moved && discardDraft && row.owns_draft === 1)
      await this.deps.queue.enqueue(
        SCHEDULED_DISCARD_JOB,
        { accountId: row.account_id, draftId: row.draft_id },
        { transaction: uow.tx, idempotencyKey: `scheduled-discard:${row.id}` },
      );
    return moved;
  }
}

function scheduledAnswer(row: ScheduledEmailRow): EmailScheduled {
  return {
    object: "EmailScheduled",
    schedule_id: row.id,
    tracking_id: row.tracking_id,
    send_at: new Date(row.send_at).toISOString(),
  };
}

export function toView(row: ScheduledEmailRow): ScheduledEmail {
  return {
    object: "ScheduledEmail",
    schedule_id: row.id,
    account_id: row.account_id,
    send_at: new Date(row.send_at).toISOString(),
    status: row.status as ScheduledStatus,
    subject: row.subject,
    to_attendees: JSON.parse(row.to_attendees) as ScheduledEmail["to_attendees"],
    tracking_id: row.tracking_id,
    ...(row.error !== null ? { error: row.error } : {}),
    ...(row.waiting_reason !== null ? { waiting_reason: row.waiting_reason } : {}),
    ...(row.sent_at !== null ? { sent_at: new Date(row.sent_at).toISOString() } : {}),
  };
}
