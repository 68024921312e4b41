// `notify_url` callbacks: after a hosted connect, POST {status, account_id, name} to the operator,
// signed so it can be trusted. They leave through the same guarded transport as webhook deliveries
// (WEBHOOK_ALLOW_PRIVATE_ADDRESSES applies), on the same retry schedule, and each link's attempts and
// last outcome are kept in a delivery log (notify_deliveries).
import { randomBytes } from "node:crypto";
import {
  type JobDefinition,
  type JobHandlerRegistry,
  type JobQueue,
  RetryLaterError,
} from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { type OutboundTransport, OutboundTransportError } from "../../outbound/http-transport.ts";
import { type AttemptResult, afterAttempt, DEFAULT_RETRY_DELAYS_MS } from "../../outbound/retry.ts";
import { SIGNATURE_HEADER, signatureHeader } from "../../outbound/signing.ts";
import type {
  HostedAuthRepository,
  HostedLinkRow,
} from "../../storage/repositories/hosted-auth.repository.ts";
import type {
  NotifyDeliveryRepository,
  NotifyDeliveryRow,
} from "../../storage/repositories/notify-delivery.repository.ts";
import type { SettingsRepository } from "../../storage/repositories/settings.repository.ts";
import { type AccountEventListener, isConnection } from "../accounts/account-events.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "hosted.notify": { linkId: string; accountId: string; status: "CREATION_SUCCESS" | "RECONNECTED" };
  }
}

const SECRET_KEY = "callback_signing_secret";
const MAX_TEXT = 500;

/** The per-installation secret that signs callbacks, created on first use and stored encrypted. */
export class CallbackSigningSecret {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
  ) {}

  async get(): Promise<string> {
    const row = await this.repo.get(SECRET_KEY);
    if (row?.secret) return this.secrets.decrypt(row.secret);
    const secret = `whsec_${randomBytes(32).toString("base64url")}`;
    await this.repo.put({
      key: SECRET_KEY,
      value: null,
      secret: this.secrets.encrypt(secret),
      updated_at: this.clock.now(),
    });
    // Another process may have created one at the same time: the stored one wins.
    const stored = await this.repo.get(SECRET_KEY);
    return stored?.secret ? this.secrets.decrypt(stored.secret) : secret;
  }
}

/** A link's notify_url callback as the operator sees it: where it went and how it ended. */
export interface NotifyCallbackView {
  linkId: string;
  url: string;
  status: NotifyDeliveryRow["status"];
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  updatedAt: number;
}

/** The delivery log of notify_url callbacks, read for the dashboard. */
export class NotifyLog {
  constructor(private readonly deliveries: NotifyDeliveryRepository) {}

  /** The callbacks of these links, in the links' order; links without a callback yet are left out. */
  async ofLinks(links: readonly Pick<HostedLinkRow, "id" | "notify_url">[]): Promise<NotifyCallbackView[]> {
    const withUrl = links.filter((link) => link.notify_url !== null);
    const rows = new Map(
      (await this.deliveries.findMany(withUrl.map((link) => link.id))).map((row) => [row.link_id, row]),
    );
    return withUrl.flatMap((link) => {
      const row = rows.get(link.id);
      if (!row) return [];
      return [
        {
          linkId: link.id,
          url: link.notify_url ?? "",
          status: row.status,
          attempts: row.attempts,
          lastStatusCode: row.last_status_code,
          lastError: row.last_error,
          nextAttemptAt: row.next_attempt_at,
          deliveredAt: row.delivered_at,
          updatedAt: row.updated_at,
        },
      ];
    });
  }
}

/**
 * Queues the notify_url callback of a connection made through a hosted link. The job's idempotency
 * key is derived from the account event's id, so the fan-out run again queues nothing new.
 */
export function notifyListener(
  queue: JobQueue,
  links: Pick<HostedAuthRepository, "findLink">,
): AccountEventListener {
  return {
    name: "notify_url",
    async handle(event) {
      if (!isConnection(event) || !event.linkId) return;
      const link = await links.findLink(event.linkId);
      if (!link?.notify_url) return;
      await queue.enqueue(
        "hosted.notify",
        { linkId: link.id, accountId: event.accountId, status: event.type },
        { idempotencyKey: `hosted.notify:${event.id}` },
      );
    },
  };
}

export interface NotifyJobDeps {
  repo: HostedAuthRepository;
  deliveries: NotifyDeliveryRepository;
  signing: CallbackSigningSecret;
  transport: OutboundTransport;
  clock: Clock;
  /** The webhook delivery schedule (attempts, waits, per-request timeout). */
  options?: { maxAttempts?: number; retryDelaysMs?: readonly number[]; timeoutMs?: number } | undefined;
  random?: () => number;
}

/** Registers the `hosted.notify` job. */
export function registerNotifyJobs(registry: JobHandlerRegistry, deps: NotifyJobDeps): void {
  registry.register(notifyJob(deps));
}

export function notifyJob(deps: NotifyJobDeps): JobDefinition<"hosted.notify"> {
  const schedule = {
    maxAttempts: deps.options?.maxAttempts ?? 8,
    retryDelaysMs: deps.options?.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
  };
  const timeoutMs = deps.options?.timeoutMs ?? 30_000;
  const random = deps.random ?? Math.random;
  return {
    kind: "hosted.notify",
    concurrency: 4,
    // The delivery row bounds HTTP attempts; this only bounds crashes.
    maxAttempts: 1_000,
    backoff: { baseMs: 2_000, maxMs: 10 * 60_000 },
    async handler({ linkId, accountId, status }, ctx) {
      const link = await deps.repo.findLink(linkId);
      if (!link?.notify_url) return;
      const started = await deps.deliveries.startAttempt(linkId, deps.clock.now());
      if (!started) return;
      const body = JSON.stringify({ status, account_id: accountId, name: link.name ?? "" });
      const signature = signatureHeader(body, Math.floor(deps.clock.now() / 1000), await deps.signing.get());
      let code: number | null = null;
      let excerpt: string | null = null;
      let result: AttemptResult;
      try {
        const response = await deps.transport.post({
          url: link.notify_url,
          headers: {
            "content-type": "application/json",
            [SIGNATURE_HEADER]: signature,
            "user-agent": "Mailroom",
          },
          body,
          timeoutMs,
          signal: ctx.signal,
        });
        code = response.status;
        excerpt = response.bodyExcerpt?.slice(0, MAX_TEXT) ?? null;
        result = { status: response.status };
      } catch (failure) {
        result = {
          error: failure instanceof Error ? failure.message : String(failure),
          retryable: failure instanceof OutboundTransportError ? failure.retryable : true,
        };
      }
      const outcome = afterAttempt(result, started.attempts, schedule, random);
      const now = deps.clock.now();
      const record: Parameters<NotifyDeliveryRepository["recordOutcome"]>[1] = {
        status: outcome.kind === "retry" ? "pending" : outcome.kind,
        last_status_code: code,
        last_error: outcome.kind === "delivered" ? null : outcome.error.slice(0, MAX_TEXT),
        last_response_excerpt: excerpt,
        next_attempt_at: outcome.kind === "retry" ? now + outcome.delayMs : null,
        delivered_at: outcome.kind === "delivered" ? now : null,
        updated_at: now,
      };
      await deps.deliveries.recordOutcome(linkId, record);
      if (outcome.kind === "delivered") {
        ctx.log.info({ linkId, accountId, status }, "notify_url acknowledged the connection");
        return;
      }
      if (outcome.kind === "failed") {
        ctx.log.warn(
          { linkId, accountId, attempt: started.attempts, error: outcome.error },
          "notify_url callback failed",
        );
        return;
      }
      throw new RetryLaterError(
        outcome.delayMs,
        `notify_url attempt ${started.attempts} failed: ${outcome.error}`,
      );
    },
  };
}
