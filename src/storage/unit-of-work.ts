// The unit of work: one transaction, and the repositories bound to it. A state change and the rows
// and jobs that announce it are written through one `UnitOfWork`, so they commit together or not at
// all. Keep the function short and free of network I/O: on SQLite the transaction holds the
// database's single connection until it ends, and on PostgreSQL it holds row locks.
import type { Kysely } from "kysely";
import type { Storage } from "./db.ts";
import { AccountRepository } from "./repositories/account.repository.ts";
import { AccountEventRepository } from "./repositories/account-event.repository.ts";
import { HostedAuthRepository } from "./repositories/hosted-auth.repository.ts";
import { NotifyDeliveryRepository } from "./repositories/notify-delivery.repository.ts";
import { ScheduledEmailRepository } from "./repositories/scheduled-email.repository.ts";
import { TrackingRepository } from "./repositories/tracking.repository.ts";
import { WebhookRepository } from "./repositories/webhook.repository.ts";
import type { Database } from "./schema.ts";

export interface UnitOfWork {
  /** The transaction itself, for `queue.enqueue(kind, payload, { transaction: uow.tx })`. */
  readonly tx: Kysely<Database>;
  readonly accounts: AccountRepository;
  readonly accountEvents: AccountEventRepository;
  readonly hostedAuth: HostedAuthRepository;
  readonly webhooks: WebhookRepository;
  readonly notifyDeliveries: NotifyDeliveryRepository;
  readonly tracking: TrackingRepository;
  readonly scheduledEmails: ScheduledEmailRepository;
}

/**
 * Runs `fn` in one transaction: commits when it resolves, rolls back when it throws (and rethrows).
 * Everything `fn` writes must go through `uow`: a query on the storage's own `db` inside `fn` runs
 * outside the transaction (and on SQLite waits for it to end: a deadlock).
 */
export type UnitOfWorkRunner = <T>(fn: (uow: UnitOfWork) => Promise<T>) => Promise<T>;

export function unitOfWork(storage: Pick<Storage, "transaction">): UnitOfWorkRunner {
  return (fn) => storage.transaction((tx) => fn(new TransactionRepositories(tx)));
}

/** Repositories over one transaction, built on first use. */
class TransactionRepositories implements UnitOfWork {
  private accountRepository: AccountRepository | undefined;
  private accountEventRepository: AccountEventRepository | undefined;
  private hostedAuthRepository: HostedAuthRepository | undefined;
  private webhookRepository: WebhookRepository | undefined;
  private notifyDeliveryRepository: NotifyDeliveryRepository | undefined;
  private trackingRepository: TrackingRepository | undefined;
  private scheduledEmailRepository: ScheduledEmailRepository | undefined;

  constructor(readonly tx: Kysely<Database>) {}

  get accounts(): AccountRepository {
    this.accountRepository ??= new AccountRepository(this.tx);
    return this.accountRepository;
  }

  get accountEvents(): AccountEventRepository {
    this.accountEventRepository ??= new AccountEventRepository(this.tx);
    return this.accountEventRepository;
  }

  get hostedAuth(): HostedAuthRepository {
    this.hostedAuthRepository ??= new HostedAuthRepository(this.tx);
    return this.hostedAuthRepository;
  }

  get webhooks(): WebhookRepository {
    this.webhookRepository ??= new WebhookRepository(this.tx);
    return this.webhookRepository;
  }

  get notifyDeliveries(): NotifyDeliveryRepository {
    this.notifyDeliveryRepository ??= new NotifyDeliveryRepository(this.tx);
    return this.notifyDeliveryRepository;
  }

  get tracking(): TrackingRepository {
    this.trackingRepository ??= new TrackingRepository(this.tx);
    return this.trackingRepository;
  }

  get scheduledEmails(): ScheduledEmailRepository {
    this.scheduledEmailRepository ??= new ScheduledEmailRepository(this.tx);
    return this.scheduledEmailRepository;
  }
}
