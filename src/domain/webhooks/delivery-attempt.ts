// One HTTP attempt of a delivery whose attempt is already counted: the signed request, the POST and
// what the delivery row records afterwards. Shared by the job of one delivery and the job of a batch
// (delivery.job.ts, delivery-batch.ts); neither the reads before nor the writes after happen here.

import type { Clock } from "../../lib/clock.ts";
import { DecryptedEnvelopes, type SecretBox } from "../../lib/crypto.ts";
import { type OutboundTransport, OutboundTransportError } from "../../outbound/http-transport.ts";
import { type AttemptResult, afterAttempt } from "../../outbound/retry.ts";
import { SIGNATURE_HEADER, signatureHeader } from "../../outbound/signing.ts";
import type { DeliveryOutcome, DeliveryToSend } from "../../storage/repositories/webhook.repository.ts";
import { type DataItem, encodeBody, shapePayload } from "./payload.ts";
import { isTestEventId, parseList } from "./webhook-model.ts";

export const EVENT_ID_HEADER = "X-Mailroom-Event-Id";
export const ATTEMPT_HEADER = "X-Mailroom-Attempt";
export const EVENT_TYPE_HEADER = "X-Mailroom-Event";
/** Set on synthetic events sent with "Send test event" (test-events.ts). */
export const TEST_HEADER = "X-Mailroom-Test";

const MAX_ERROR_LENGTH = 500;
/** Characters of the receiver's answer kept on the delivery row (the dashboard shows them). */
export const MAX_EXCERPT_LENGTH = 500;

export interface AttemptSchedule {
  maxAttempts: number;
  retryDelaysMs: readonly number[];
  timeoutMs: number;
}

/** What one attempt came to: the row to record and, for a retry, when the next attempt is due. */
export interface AttemptReport {
  row: DeliveryOutcome;
  /** Set when the delivery stays pending: the wait before its next attempt. */
  retryInMs?: number;
  /** The attempt's error (absent when delivered). */
  error?: string;
}

export class DeliveryAttempts {
  // Decrypted once per ciphertext (a rotation stores a new one).
  private readonly secrets: DecryptedEnvelopes;

  constructor(
    private readonly d: {
      secrets: Pick<SecretBox, "decrypt">;
      transport: OutboundTransport;
      clock: Clock;
      schedule: AttemptSchedule;
      random: () => number;
    },
  ) {
    this.secrets = new DecryptedEnvelopes(d.secrets, 256);
  }

  /**
   * Makes the attempt `started.delivery.attempts` (counted before the call) of a delivery whose webhook
   * exists. Signed with the time of the POST, not of the count: in a batch the two can be apart.
   */
  async send(
    started: DeliveryToSend & { webhook: NonNullable<DeliveryToSend["webhook"]> },
    signal: AbortSignal,
  ): Promise<AttemptReport> {
    const { delivery, webhook, event } = started;
    const now = this.d.clock.now();
    if (!event) {
      const error = "The event is no longer stored";
      return { row: outcomeRow("failed", null, error, null, null, null, now), error };
    }
    const attempt = delivery.attempts;
    const shaped = shapePayload(
      { ...event, payload: JSON.parse(event.payload) as Record<string, unknown> },
      { name: webhook.name, data: parseList<DataItem>(webhook.data) },
    );
    const { body, contentType } = encodeBody(shaped, webhook.format);
    const previous =
      webhook.previous_secret &&
      webhook.previous_secret_expires_at !== null &&
      webhook.previous_secret_expires_at > now
        ? this.secrets.decrypt(webhook.previous_secret)
        : undefined;
    const headers: Record<string, string> = {
      "content-type": contentType,
      "user-agent": "Mailroom-Webhooks",
    };
    // The operator's headers (Unipile's `headers`) may replace the content type, never Mailroom's own.
    for (const { key, value } of parseList<{ key: string; value: string }>(webhook.headers))
      headers[key.toLowerCase()] = value;
    headers[EVENT_ID_HEADER] = event.id;
    headers[EVENT_TYPE_HEADER] = event.type;
    headers[ATTEMPT_HEADER] = String(attempt);
    if (isTestEventId(event.id)) headers[TEST_HEADER] = "true";
    headers[SIGNATURE_HEADER] = signatureHeader(
      body,
      Math.floor(now / 1000),
      this.secrets.decrypt(webhook.secret),
      previous,
    );

    let status: number | null = null;
    let excerpt: string | null = null;
    let result: AttemptResult;
    try {
      const response = await this.d.transport.post({
        url: webhook.request_url,
        headers,
        body,
        timeoutMs: this.d.schedule.timeoutMs,
        signal,
      });
      status = response.status;
      excerpt = response.bodyExcerpt?.slice(0, MAX_EXCERPT_LENGTH) ?? null;
      result = { status };
    } catch (failure) {
      result = {
        error: failure instanceof Error ? failure.message : String(failure),
        retryable: failure instanceof OutboundTransportError ? failure.retryable : true,
      };
    }
    const outcome = afterAttempt(result, attempt, this.d.schedule, this.d.random);
    const at = this.d.clock.now();
    if (outcome.kind === "delivered")
      return { row: outcomeRow("delivered", status, null, excerpt, null, at, at) };
    const error = outcome.error;
    if (outcome.kind === "failed")
      return { row: outcomeRow("failed", status, error, excerpt, null, null, at), error };
    return {
      row: outcomeRow("pending", status, error, excerpt, at + outcome.delayMs, null, at),
      retryInMs: outcome.delayMs,
      error,
    };
  }
}

function outcomeRow(
  status: DeliveryOutcome["status"],
  lastStatusCode: number | null,
  error: string | null,
  excerpt: string | null,
  nextAttemptAt: number | null,
  deliveredAt: number | null,
  at: number,
): DeliveryOutcome {
  return {
    status,
    last_status_code: lastStatusCode,
    last_error: error === null ? null : error.slice(0, MAX_ERROR_LENGTH),
    last_response_excerpt: excerpt,
    next_attempt_at: nextAttemptAt,
    delivered_at: deliveredAt,
    updated_at: at,
  };
}
