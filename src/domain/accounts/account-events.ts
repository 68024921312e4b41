// Account events: what happened to an account (connected, reconnected, must sign in again, deleted).
// A producer records the event in the same unit of work as the account change, and the job that fans
// it out with it, so the change, the event and the job commit together or not at all. The job
// (`accounts.event`) then calls every listener: notify_url callbacks, account_status webhooks,
// realtime. A failing listener fails the job, which is retried, so every listener is idempotent per
// event id. Connect and token-refresh logic never call webhooks themselves.
import {
  type JobDefinition,
  type JobHandlerRegistry,
  type JobLogger,
  type JobQueue,
  PermanentJobError,
} from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import { newId } from "../../lib/ids.ts";
import type {
  AccountEventRepository,
  AccountEventRow,
} from "../../storage/repositories/account-event.repository.ts";
import type { UnitOfWork } from "../../storage/unit-of-work.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "accounts.event": { eventId: string };
  }
}

export const ACCOUNT_EVENT_JOB = "accounts.event";

/** The messages of Unipile's AccountStatus webhook payload. */
export type AccountStatusMessage =
  | "OK"
  | "CREDENTIALS"
  | "ERROR"
  | "STOPPED"
  | "CONNECTING"
  | "CREATION_SUCCESS"
  | "RECONNECTED"
  | "DELETED";

export type AccountEventType = "CREATION_SUCCESS" | "RECONNECTED" | "CREDENTIALS" | "DELETED";

const EVENT_TYPES: ReadonlySet<string> = new Set<AccountEventType>([
  "CREATION_SUCCESS",
  "RECONNECTED",
  "CREDENTIALS",
  "DELETED",
]);

export interface AccountEvent {
  /** Stable: listeners derive their own ids and idempotency keys from it. */
  id: string;
  accountId: string;
  type: AccountEventType;
  /** The hosted link a connect or reconnect came through. */
  linkId?: string | undefined;
  /** Why the mailbox must sign in again (CREDENTIALS). */
  reason?: string | undefined;
  createdAt: number;
}

export type AccountEventInput = Omit<AccountEvent, "id" | "createdAt">;

export function isConnection(
  event: AccountEvent,
): event is AccountEvent & { type: "CREATION_SUCCESS" | "RECONNECTED" } {
  return event.type === "CREATION_SUCCESS" || event.type === "RECONNECTED";
}

export interface AccountEventListener {
  /** Names the listener in logs and in the job's error when it fails. */
  readonly name: string;
  /** Runs at least once per event, possibly more (retries, crashes): idempotent per `event.id`. */
  handle(event: AccountEvent): Promise<void>;
}

/** What producers need: record an event in their unit of work. */
export interface AccountEventRecorder {
  record(uow: UnitOfWork, input: AccountEventInput): Promise<AccountEvent>;
}

export class AccountEventHub implements AccountEventRecorder {
  private readonly listeners: AccountEventListener[] = [];

  constructor(
    private readonly d: {
      repo: Pick<AccountEventRepository, "findById">;
      queue: JobQueue;
      clock: Clock;
    },
  ) {}

  add(listener: AccountEventListener): void {
    this.listeners.push(listener);
  }

  /** Writes the event and its fan-out job in `uow`: both exist if and only if `uow` commits. */
  async record(uow: UnitOfWork, input: AccountEventInput): Promise<AccountEvent> {
    const event: AccountEvent = { ...input, id: newId(), createdAt: this.d.clock.now() };
    await uow.accountEvents.insert(toRow(event));
    await this.d.queue.enqueue(
      ACCOUNT_EVENT_JOB,
      { eventId: event.id },
      { idempotencyKey: `${ACCOUNT_EVENT_JOB}:${event.id}`, transaction: uow.tx },
    );
    return event;
  }

  /**
   * Calls every listener with the stored event. All run even when one fails; then the first failure
   * is thrown (naming every failed listener) so the job is retried, and the listeners that succeeded
   * run again, which their idempotency makes harmless.
   */
  async deliver(eventId: string, log: JobLogger): Promise<void> {
    const row = await this.d.repo.findById(eventId);
    if (!row) {
      log.warn({ eventId }, "Account event no longer stored; nothing to deliver");
      return;
    }
    const event = fromRow(row);
    const failed: { name: string; error: unknown }[] = [];
    for (const listener of this.listeners) {
      try {
        await listener.handle(event);
      } catch (error) {
        failed.push({ name: listener.name, error });
      }
    }
    if (failed.length === 0) return;
    const first = failed[0] as { name: string; error: unknown };
    throw new Error(
      `Account event ${event.type} (${event.id}): ${failed.map((f) => f.name).join(", ")} failed: ${first.error instanceof Error ? first.error.message : String(first.error)}`,
      { cause: first.error },
    );
  }
}

/** Registers the fan-out job: one run per event, retried until every listener succeeds. */
export function registerAccountEventJobs(registry: JobHandlerRegistry, hub: AccountEventHub): void {
  registry.register(accountEventJob(hub));
}

function accountEventJob(hub: AccountEventHub): JobDefinition<"accounts.event"> {
  return {
    kind: ACCOUNT_EVENT_JOB,
    concurrency: 2,
    // Listeners write to the database and enqueue jobs; a failure is a database outage or a bug,
    // worth retrying for about an hour before the job is dead and visible.
    maxAttempts: 20,
    backoff: { baseMs: 1_000, maxMs: 5 * 60_000 },
    async handler({ eventId }, ctx) {
      if (typeof eventId !== "string") throw new PermanentJobError("accounts.event without an event id");
      await hub.deliver(eventId, ctx.log);
    },
  };
}

function toRow(event: AccountEvent): AccountEventRow {
  return {
    id: event.id,
    account_id: event.accountId,
    type: event.type,
    payload: JSON.stringify({
      ...(event.linkId !== undefined ? { link_id: event.linkId } : {}),
      ...(event.reason !== undefined ? { reason: event.reason } : {}),
    }),
    created_at: event.createdAt,
  };
}

function fromRow(row: AccountEventRow): AccountEvent {
  if (!EVENT_TYPES.has(row.type)) throw new PermanentJobError(`Unknown account event type ${row.type}`);
  const payload = JSON.parse(row.payload) as { link_id?: unknown; reason?: unknown };
  return {
    id: row.id,
    accountId: row.account_id,
    type: row.type as AccountEventType,
    ...(typeof payload.link_id === "string" ? { linkId: payload.link_id } : {}),
    ...(typeof payload.reason === "string" ? { reason: payload.reason } : {}),
    createdAt: row.created_at,
  };
}
