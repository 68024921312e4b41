// Composition root: builds every service from config. HTTP, jobs and the CLI all take what they need
// from here; nothing is hung on the Fastify instance.
import type { Config } from "../config/config.ts";
import { AccountService } from "../domain/accounts/account.service.ts";
import { AccountEventHub, registerAccountEventJobs } from "../domain/accounts/account-events.ts";
import { NativeConnectService } from "../domain/accounts/native-connect.service.ts";
import { TokenManager } from "../domain/accounts/token-manager.ts";
import { registerTokenRefreshJobs, TokenRefreshJobs } from "../domain/accounts/token-refresh.job.ts";
import { AdminService } from "../domain/admins/admin.service.ts";
import { ApiKeyService } from "../domain/api-keys/api-key.service.ts";
import type { EmailService } from "../domain/email/email.service.ts";
import type { SendService } from "../domain/email/send.service.ts";
import { HostedAuthService } from "../domain/hosted-auth/hosted-auth.service.ts";
import {
  CallbackSigningSecret,
  NotifyLog,
  notifyListener,
  registerNotifyJobs,
} from "../domain/hosted-auth/notify.ts";
import { HousekeepingJobs } from "../domain/housekeeping/housekeeping.job.ts";
import type { HousekeepingService } from "../domain/housekeeping/housekeeping.service.ts";
import type { IdempotencyService } from "../domain/idempotency/idempotency.service.ts";
import type { RealtimeService } from "../domain/realtime/realtime.service.ts";
import { SentMailLog } from "../domain/realtime/sent-log.ts";
import type { ScheduledSendService } from "../domain/scheduled/scheduled-send.service.ts";
import { MicrosoftSettingsService } from "../domain/settings/microsoft-settings.service.ts";
import type { TrackingService } from "../domain/tracking/tracking.service.ts";
import type { DeliveryOptions } from "../domain/webhooks/delivery.job.ts";
import { registerWebhookJobs, WebhookService } from "../domain/webhooks/webhook.service.ts";
import { createJobRegistry } from "../jobs/queue.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import type { Logger } from "../lib/logger.ts";
import { DestinationGuard } from "../outbound/destination.ts";
import { type DnsLookup, HttpOutboundTransport, type OutboundTransport } from "../outbound/http-transport.ts";
import { httpTransport } from "../providers/microsoft/graph-transport.ts";
import { IdTokenValidator, TokenClient } from "../providers/microsoft/identity.ts";
import { ensureWritableDir, openStorage, type Storage } from "../storage/db.ts";
import { AccountRepository } from "../storage/repositories/account.repository.ts";
import { AccountEventRepository } from "../storage/repositories/account-event.repository.ts";
import { AdminRepository } from "../storage/repositories/admin.repository.ts";
import { ApiKeyRepository } from "../storage/repositories/api-key.repository.ts";
import { HostedAuthRepository } from "../storage/repositories/hosted-auth.repository.ts";
import { JobRepository } from "../storage/repositories/job.repository.ts";
import { NotifyDeliveryRepository } from "../storage/repositories/notify-delivery.repository.ts";
import { RealtimeRepository } from "../storage/repositories/realtime.repository.ts";
import { SecretRepository } from "../storage/repositories/secret.repository.ts";
import { SentMessageRepository } from "../storage/repositories/sent-message.repository.ts";
import { SettingsRepository } from "../storage/repositories/settings.repository.ts";
import { WebhookRepository } from "../storage/repositories/webhook.repository.ts";
import { type UnitOfWorkRunner, unitOfWork } from "../storage/unit-of-work.ts";
import { createEmailService } from "./email.ts";
import { createHousekeeping } from "./housekeeping.ts";
import { isInitialized, type KeyringProvider, setUpKeyring } from "./keyring.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { connectMode, createJobRunner, type JobRunner, type SharedLimits } from "./mode.ts";
import { createRealtime } from "./realtime.ts";
import type { SharedRedis } from "./redis.ts";
import { createSending } from "./sending.ts";
import { createTracking } from "./tracking.ts";

export interface Services {
  config: Config;
  clock: Clock;
  log: Logger;
  storage: Storage;
  /** Runs a function in one transaction with repositories bound to it (storage/unit-of-work.ts). */
  unitOfWork: UnitOfWorkRunner;
  /** Scaled mode's Redis (REDIS_URL); undefined in embedded mode. */
  redis: SharedRedis | undefined;
  secrets: KeyringProvider;
  metrics: Metrics;
  /** For the CLI's key rotation and for tests that set up or inspect rows; HTTP routes go through services. */
  repos: {
    apiKeys: ApiKeyRepository;
    accounts: AccountRepository;
    settings: SettingsRepository;
    secrets: SecretRepository;
    hostedAuth: HostedAuthRepository;
    jobs: JobRepository;
    webhooks: WebhookRepository;
    /** The notify_url callbacks' delivery log. */
    notifyDeliveries: NotifyDeliveryRepository;
  };
  apiKeys: ApiKeyService;
  /** Dashboard admins: setup/invite links, sign-in, sessions. */
  admins: AdminService;
  accounts: AccountService;
  microsoftSettings: MicrosoftSettingsService;
  hostedAuth: HostedAuthService;
  nativeConnect: NativeConnectService;
  callbackSigning: CallbackSigningSecret;
  /** The notify_url callbacks' delivery log, as the dashboard shows it. */
  notifyLog: NotifyLog;
  /** Durable account events: recorded with each account change, fanned out to listeners by a job. */
  accountEvents: AccountEventHub;
  tokenClient: TokenClient;
  /** Access tokens for accounts (refresh, single flight, cooldown); the Graph client's only source. */
  tokens: TokenManager;
  tokenRefresh: TokenRefreshJobs;
  /** Unipile's email API (read side) over Graph, with the per-mailbox limiter (per process or shared). */
  email: EmailService;
  /** Sending and drafts (draft → attachments → /send), same Graph client and limiter as `email`. */
  emailSend: SendService;
  /** Idempotency-Key handling of the POST routes that create something (docs/adr/0011). */
  idempotency: IdempotencyService;
  /** Scheduled send: `send_at` drafts sent by a job when due. */
  scheduled: ScheduledSendService;
  /** Outgoing webhooks; `webhooks.publish` is the outbox event producers write to. */
  webhooks: WebhookService;
  /** Email tracking: instruments tracked sends, records opens and clicks (docs/adr/0009-email-tracking.md). */
  tracking: TrackingService;
  /** Getting events from Microsoft: delta polling and Graph subscriptions, publishing mail events. */
  realtime: RealtimeService;
  /** Deletes what is past its retention (docs/adr/0006-retention.md); runs as the housekeeping job. */
  housekeeping: HousekeepingService;
  jobs: JobRunner;
  /** Starts the background work: takes jobs, schedules the token refresh sweep and the realtime watchdog. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface BuildOptions {
  clock?: Clock;
  /** Open the database and check keys, but do not migrate (for commands that must not change the schema). */
  migrate?: boolean;
  allowKeyGeneration?: boolean;
  /** `fetch` for calls to Microsoft (tests inject theirs); callbacks to operators go through `webhooks.transport`. */
  fetch?: typeof fetch;
  /** Job runner tuning (tests shorten the poll interval). */
  jobs?: { pollIntervalMs?: number; leaseMs?: number };
  /**
   * Callback (webhook and notify_url) delivery tuning (tests shorten retries), transport, and the DNS
   * lookup used to check destinations at creation and at connect time (tests answer for their names).
   */
  webhooks?: { delivery?: Partial<DeliveryOptions>; transport?: OutboundTransport; lookup?: DnsLookup };
  /**
   * Limits shared by every process (scaled mode: `createRedisLimits` in src/redis/limits.ts); each
   * defaults to its in-process implementation.
   */
  limits?: SharedLimits;
}

export async function buildServices(
  config: Config,
  log: Logger,
  options: BuildOptions = {},
): Promise<Services> {
  ensureWritableDir(config.dataDir);
  // Scaled mode: Redis is checked first, so a process that cannot reach it refuses before it opens
  // the database.
  const mode = await connectMode(config, log, options.limits);
  const { redis, limits } = mode;
  const storage = openStorage(config.database);
  try {
    const keyOptions =
      options.allowKeyGeneration === undefined ? {} : { allowGenerate: options.allowKeyGeneration };
    // A database used before is checked against the key before anything is written to it, migrations
    // included: a process given the wrong key refuses without having changed a thing.
    let secrets = (await isInitialized(storage))
      ? await setUpKeyring(config, storage, log, keyOptions)
      : undefined;
    if (options.migrate !== false) {
      const applied = await storage.migrate();
      if (applied.length > 0)
        log.info({ migrations: applied }, `Applied ${applied.length} database migration(s)`);
    }
    secrets ??= await setUpKeyring(config, storage, log, keyOptions);
    const clock = options.clock ?? systemClock;
    const repos = {
      apiKeys: new ApiKeyRepository(storage.db),
      accounts: new AccountRepository(storage.db),
      settings: new SettingsRepository(storage.db),
      secrets: new SecretRepository(storage.db),
      hostedAuth: new HostedAuthRepository(storage.db),
      jobs: new JobRepository(storage.db, storage.dialect),
      webhooks: new WebhookRepository(storage.db),
      notifyDeliveries: new NotifyDeliveryRepository(storage.db),
    };
    const fetchImpl = options.fetch ?? fetch;
    const metrics = createMetrics();
    const endpoints = { loginUrl: config.microsoft.loginUrl };
    const tokenClient = new TokenClient({ endpoints, fetch: fetchImpl, now: () => clock.now() });
    const hostedRedirect = `${config.publicUrl}/api/v1/hosted/microsoft_auth_request_callback`;
    const microsoftSettings = new MicrosoftSettingsService(
      repos.settings,
      secrets,
      tokenClient,
      clock,
      log,
      hostedRedirect,
    );
    const callbackSigning = new CallbackSigningSecret(repos.settings, secrets, clock);
    const transaction = unitOfWork(storage);
    // The runner first: every module gets the queue as it is, and registers its job kinds below.
    const registry = createJobRegistry();
    const jobs = await createJobRunner({
      config,
      redis,
      storage,
      repository: repos.jobs,
      registry,
      log: log.child({ component: "jobs" }),
      clock,
      onOutcome: (event) => metrics.jobs.inc({ kind: event.kind, outcome: event.outcome }),
      tuning: options.jobs,
    });
    const accountEvents = new AccountEventHub({
      repo: new AccountEventRepository(storage.db),
      queue: jobs,
      clock,
    });
    registerAccountEventJobs(registry, accountEvents);
    const tokens = new TokenManager({
      accounts: repos.accounts,
      settings: microsoftSettings,
      tokens: tokenClient,
      secrets,
      transaction,
      events: accountEvents,
      clock,
      log: log.child({ component: "tokens" }),
      onOutcome: (outcome) => metrics.tokenRefreshes.inc({ outcome }),
    });
    const tokenRefresh = new TokenRefreshJobs({ tokens, accounts: repos.accounts, clock, log, queue: jobs });
    registerTokenRefreshJobs(registry, tokenRefresh);
    // One policy for every callback Mailroom makes: checked when a URL is handed over and again when
    // a connection is opened.
    const destinationPolicy = {
      allowPrivateAddresses: config.webhooks.allowPrivateAddresses,
      lookup: options.webhooks?.lookup,
    };
    const destinations = new DestinationGuard(destinationPolicy);
    const transport = options.webhooks?.transport ?? new HttpOutboundTransport(destinationPolicy);
    const webhookDeps = { repo: repos.webhooks, secrets, clock, queue: jobs, transaction };
    const webhooks = new WebhookService({ ...webhookDeps, destinations });
    registerWebhookJobs(registry, {
      ...webhookDeps,
      transport,
      ...(options.webhooks?.delivery ? { options: options.webhooks.delivery } : {}),
    });
    registerNotifyJobs(registry, {
      repo: repos.hostedAuth,
      deliveries: repos.notifyDeliveries,
      signing: callbackSigning,
      transport,
      clock,
      options: options.webhooks?.delivery,
    });
    accountEvents.add(notifyListener(jobs, repos.hostedAuth));
    accountEvents.add(webhooks.accountStatusListener());

    const idTokens = new IdTokenValidator(endpoints, { now: () => clock.now() });
    const nativeConnect = new NativeConnectService({
      accounts: repos.accounts,
      settings: microsoftSettings,
      tokens: tokenClient,
      idTokens,
      secrets,
      transaction,
      events: accountEvents,
      clock,
      log,
      graphUrl: config.microsoft.graphUrl,
      fetch: fetchImpl,
    });
    const hostedAuth = new HostedAuthService({
      repo: repos.hostedAuth,
      accounts: repos.accounts,
      settings: microsoftSettings,
      tokens: tokenClient,
      idTokens,
      secrets,
      transaction,
      accountEvents,
      clock,
      log,
      destinations,
      publicUrl: config.publicUrl,
      loginUrl: config.microsoft.loginUrl,
      graphUrl: config.microsoft.graphUrl,
      linkMaxDays: config.hostedLinkMaxDays,
      fetch: fetchImpl,
    });
    const mailState = new RealtimeRepository(storage.db);
    const sentLog = new SentMailLog(new SentMessageRepository(storage.db), clock);
    const tracking = createTracking({ config, storage, repos, secrets, transaction, webhooks, clock, log });
    const {
      email,
      send: emailSend,
      graph,
      cache: emailCache,
    } = createEmailService({
      config,
      accounts: repos.accounts,
      tokens,
      clock,
      log,
      fetch: fetchImpl,
      // An injected fetch (tests) carries Graph calls too; otherwise node:http with keep-alive.
      ...(options.fetch ? {} : { graphTransport: httpTransport() }),
      sent: sentLog,
      tracking,
      registry: metrics.registry,
      ...(limits?.mailboxLimiter ? { limiter: limits.mailboxLimiter } : {}),
      mailChanged: (accountId) => mailState.bumpMailVersion(accountId),
    });
    const realtime = createRealtime({
      config,
      storage,
      registry,
      accountEvents,
      accounts: repos.accounts,
      graph,
      email,
      emailCache,
      publisher: webhooks,
      sentOrigin: sentLog,
      queue: jobs,
      clock,
      log,
    });
    const sending = createSending({
      ...{ config, storage, transaction, secrets, clock, queue: jobs, registry, accountEvents },
      ...{ accounts: repos.accounts, send: emailSend },
    });
    const housekeeping = createHousekeeping(config, storage, repos.jobs, clock, log, metrics);
    const housekeepingJobs = new HousekeepingJobs({
      service: housekeeping,
      queue: jobs,
      everyMs: config.retention.housekeepingEveryMs,
    });
    housekeepingJobs.register(registry);
    return {
      config,
      clock,
      log,
      storage,
      unitOfWork: transaction,
      redis,
      secrets,
      metrics,
      repos,
      apiKeys: new ApiKeyService(repos.apiKeys, clock),
      admins: new AdminService(
        new AdminRepository(storage.db),
        clock,
        config.publicUrl,
        limits?.rateLimiters,
      ),
      accounts: new AccountService(repos.accounts, {
        ...{ transaction, events: accountEvents, log, graph, settings: microsoftSettings, clock },
        ...{ changeStamp: storage.changeStamp },
      }),
      microsoftSettings,
      hostedAuth,
      nativeConnect,
      callbackSigning,
      notifyLog: new NotifyLog(repos.notifyDeliveries),
      accountEvents,
      tokenClient,
      tokens,
      tokenRefresh,
      email,
      emailSend,
      idempotency: sending.idempotency,
      scheduled: sending.scheduled,
      webhooks,
      tracking,
      realtime,
      housekeeping,
      jobs,
      start: async () => {
        await tracking.start();
        await jobs.start();
        await tokenRefresh.scheduleSweep();
        await realtime.startAll();
        await housekeepingJobs.schedule();
      },
      close: async () => {
        await tracking.close();
        await jobs.stop();
        if (transport instanceof HttpOutboundTransport) transport.close();
        await storage.close();
        await mode.close();
      },
    };
  } catch (error) {
    await storage.close().catch(() => {});
    await mode.close();
    throw error;
  }
}
