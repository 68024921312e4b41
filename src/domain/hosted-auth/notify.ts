// `notify_url` callbacks: after a hosted connect, POST {status, account_id, name} to the operator,
// signed so it can be trusted, retried through the job queue until the operator answers 2xx.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { JobDefinition, JobHandlerRegistry, JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import type { HostedAuthRepository } from "../../storage/repositories/hosted-auth.repository.ts";
import type { SettingsRepository } from "../../storage/repositories/settings.repository.ts";
import type { AccountEvents } from "../accounts/account-events.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "hosted.notify": { linkId: string; accountId: string; status: "CREATION_SUCCESS" | "RECONNECTED" };
  }
}

export const SIGNATURE_HEADER = "X-Mailroom-Signature";
const SECRET_KEY = "callback_signing_secret";

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` */
export function signPayload(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * For receivers (and tests): checks the signature and that it is recent. A header may carry several
 * `v1=` values (webhooks sign with the old and the new secret during a rotation): any one may match.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = header.split(",").map((p) => p.split("=", 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === "t")?.[1]);
  const macs = parts.filter(([k, v]) => k === "v1" && v).map(([, v]) => v as string);
  if (!Number.isFinite(t) || Math.abs(nowSeconds - t) > toleranceSeconds || macs.length === 0) return false;
  const expected = Buffer.from(signPayload(secret, body, t).split("v1=")[1]!, "hex");
  return macs.some((mac) => {
    const given = Buffer.from(mac, "hex");
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

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

/** Listens for connections and queues the notify callback. */
export function notifyListener(queue: JobQueue): AccountEvents {
  return {
    async accountConnected({ account, status, link }) {
      if (!link?.notify_url) return;
      await queue.enqueue(
        "hosted.notify",
        { linkId: link.id, accountId: account.id, status },
        { idempotencyKey: `hosted.notify:${link.id}` },
      );
    },
    async accountStatusChanged() {},
  };
}

export function notifyJob(deps: {
  repo: HostedAuthRepository;
  signing: CallbackSigningSecret;
  clock: Clock;
  fetch?: typeof fetch;
}): JobDefinition<"hosted.notify"> {
  const fetchImpl = deps.fetch ?? fetch;
  return {
    kind: "hosted.notify",
    concurrency: 4,
    maxAttempts: 8,
    backoff: { baseMs: 2_000, maxMs: 10 * 60_000 },
    async handler({ linkId, accountId, status }, ctx) {
      const link = await deps.repo.findLink(linkId);
      if (!link?.notify_url) return;
      const body = JSON.stringify({ status, account_id: accountId, name: link.name ?? "" });
      const signature = signPayload(await deps.signing.get(), body, Math.floor(deps.clock.now() / 1000));
      const response = await fetchImpl(link.notify_url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: signature,
          "user-agent": "Mailroom",
        },
        body,
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(30_000)]),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`notify_url answered HTTP ${response.status}`);
      ctx.log.info({ linkId, accountId, status }, "notify_url acknowledged the connection");
    },
  };
}

/** The hosted-auth job kinds: the signed `notify_url` callback. */
export function registerNotifyJobs(
  registry: JobHandlerRegistry,
  deps: Parameters<typeof notifyJob>[0],
): void {
  registry.register(notifyJob(deps));
}
