// Wires what makes sends safe to retry and lets them wait: Idempotency-Key handling
// (domain/idempotency) and scheduled send (domain/scheduled). docs/adr/0011-send-once-and-scheduled.md.
import type { Config } from "../config/config.ts";
import type { AccountEventHub } from "../domain/accounts/account-events.ts";
import type { AccountLookup } from "../domain/email/email.service.ts";
import type { SendService } from "../domain/email/send.service.ts";
import { IdempotencyService } from "../domain/idempotency/idempotency.service.ts";
import { registerScheduledSendJobs } from "../domain/scheduled/scheduled-send.job.ts";
import { ScheduledSendService } from "../domain/scheduled/scheduled-send.service.ts";
import type { JobHandlerRegistry, JobQueue } from "../jobs/queue.ts";
import type { Clock } from "../lib/clock.ts";
import type { SecretBox } from "../lib/crypto.ts";
import type { Storage } from "../storage/db.ts";
import { IdempotencyRepository } from "../storage/repositories/idempotency.repository.ts";
import { ScheduledEmailRepository } from "../storage/repositories/scheduled-email.repository.ts";
import type { UnitOfWorkRunner } from "../storage/unit-of-work.ts";

export function createSending(deps: {
  config: Config;
  storage: Storage;
  transaction: UnitOfWorkRunner;
  secrets: SecretBox;
  clock: Clock;
  queue: JobQueue;
  registry: JobHandlerRegistry;
  accounts: AccountLookup;
  accountEvents: AccountEventHub;
  send: SendService;
}): { idempotency: IdempotencyService; scheduled: ScheduledSendService } {
  const idempotency = new IdempotencyService({
    repo: new IdempotencyRepository(deps.storage.db),
    secrets: deps.secrets,
    clock: deps.clock,
    options: deps.config.idempotency,
  });
  const repo = new ScheduledEmailRepository(deps.storage.db);
  const scheduled = new ScheduledSendService({
    repo,
    transaction: deps.transaction,
    queue: deps.queue,
    send: deps.send,
    clock: deps.clock,
    maxAheadMs: deps.config.scheduledSend.maxAheadMs,
  });
  registerScheduledSendJobs(deps.registry, {
    repo,
    accounts: deps.accounts,
    send: deps.send,
    clock: deps.clock,
  });
  deps.accountEvents.add(scheduled.accountListener());
  return { idempotency, scheduled };
}
