// The send job of a scheduled email (docs/adr/0011-send-once-and-scheduled.md), enqueued for `send_at`
// together with the schedule. It sends the waiting draft through the Graph client (so through the
// mailbox limiter) and records the outcome. A run after a crash finds the schedule `sending` and asks
// the mailbox first: a draft that is no longer a draft went out and is not sent again. An account that
// must sign in again makes the send wait (snooze, no attempt spent, `waiting_reason` set); throttling and
// 5xx are retried (Retry-After honoured) up to SCHEDULED_SEND_MAX_ATTEMPTS runs, then `failed`.
import {
  defineJob,
  type JobHandlerRegistry,
  type JobPayloads,
  RetryLaterError,
  SnoozeError,
} from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { ScheduledEmailRepository } from "../../storage/repositories/scheduled-email.repository.ts";
import type { AccountLookup } from "../email/email.service.ts";
import type { SendService } from "../email/send.service.ts";
import { attemptOutcome, SCHEDULED_SEND_MAX_ATTEMPTS } from "./schedule-rules.ts";
import { SCHEDULED_DISCARD_JOB, SCHEDULED_SEND_JOB } from "./scheduled-send.service.ts";

export const NEEDS_REAUTH = "account_needs_reauth";
const DRAFT_GONE = "The draft was deleted from the mailbox before it was sent.";

export interface ScheduledSendJobDeps {
  repo: ScheduledEmailRepository;
  accounts: AccountLookup;
  send: SendService;
  clock: Clock;
  /** How long a send waits before looking again at an account that must sign in again. */
  reauthWaitMs?: number;
  /** Sends one process runs at once (the mailbox limiter still caps each mailbox). */
  concurrency?: number;
}

export async function runScheduledSend(
  deps: ScheduledSendJobDeps,
  { scheduleId }: JobPayloads[typeof SCHEDULED_SEND_JOB],
  attempt: number,
): Promise<void> {
  const { repo, clock, send } = deps;
  const row = await repo.find(scheduleId);
  if (!row || (row.status !== "scheduled" && row.status !== "sending")) return;
  const now = clock.now();
  // Another process's clock may run ahead: never before send_at.
  if (row.send_at > now) throw new SnoozeError(row.send_at - now);
  const account = await deps.accounts.findById(row.account_id);
  if (!account) {
    await repo.transition(row.id, ["scheduled", "sending"], "cancelled", {
      error: "The account was deleted.",
      updated_at: now,
    });
    return;
  }
  const waitForReauth = async (detail: string) => {
    await repo.note(row.id, { waiting_reason: NEEDS_REAUTH, error: detail, updated_at: clock.now() });
    return new SnoozeError(deps.reauthWaitMs ?? 60_000);
  };
  if (account.status !== "OK")
    throw await waitForReauth(
      `The mailbox must sign in again (${account.status_reason ?? account.status}); the email is sent once the account is reconnected.`,
    );
  const fail = (reason: string) =>
    repo.transition(row.id, ["scheduled", "sending"], "failed", { error: reason, updated_at: clock.now() });
  const markSent = () =>
    repo.transition(row.id, ["sending"], "sent", {
      error: null,
      waiting_reason: null,
      sent_at: clock.now(),
      updated_at: clock.now(),
    });
  // A run that finds the schedule `sending` follows one that may have sent it before it could say so.
  const resumed = row.status === "sending";
  const started = await repo.transition(row.id, ["scheduled", "sending"], "sending", {
    attempts: row.attempts + 1,
    waiting_reason: null,
    updated_at: now,
  });
  if (!started) return; // cancelled meanwhile
  try {
    // The draft waited in the mailbox: the user may have deleted it; a resumed run may have sent it.
    const state = await send.draftState(row.account_id, row.draft_id);
    if (state === "sent" && resumed) {
      await markSent();
      return;
    }
    if (state === "missing" || state === "deleted" || state === "sent") {
      await fail(DRAFT_GONE);
      return;
    }
    await send.sendDraft(row.account_id, row.draft_id, row.tracking_id, { discardOnFailure: false });
  } catch (error) {
    const outcome = attemptOutcome(error, attempt);
    if (outcome.kind === "needs_reauth") {
      // Microsoft refused the call itself (401): nothing went out, so the email is back to waiting.
      await repo.transition(row.id, ["sending"], "scheduled", { updated_at: clock.now() });
      throw await waitForReauth(outcome.reason);
    }
    if (outcome.kind === "retry") {
      await repo.note(row.id, { error: outcome.reason, waiting_reason: null, updated_at: clock.now() });
      if (outcome.delayMs !== undefined) throw new RetryLaterError(outcome.delayMs, outcome.reason);
      throw error;
    }
    await fail(outcome.reason);
    return;
  }
  await markSent();
}

export function registerScheduledSendJobs(registry: JobHandlerRegistry, deps: ScheduledSendJobDeps): void {
  registry.register(
    defineJob({
      kind: SCHEDULED_SEND_JOB,
      concurrency: deps.concurrency ?? 32,
      maxAttempts: SCHEDULED_SEND_MAX_ATTEMPTS,
      backoff: { baseMs: 1_000, maxMs: 60_000 },
      handler: (payload, ctx) => runScheduledSend(deps, payload, ctx.attempt),
    }),
  );
  registry.register(
    defineJob({
      kind: SCHEDULED_DISCARD_JOB,
      concurrency: 4,
      handler: ({ accountId, draftId }) => deps.send.discard(accountId, draftId),
    }),
  );
}
