// Webhooks for the operator: list with the last delivery, create (secret shown once), delete, rotate
// the secret, a test event, the delivery log and replay; and the notify_url callback signing secret.
// Times are epoch milliseconds.
import { type Static, Type } from "typebox";
import { WEBHOOK_SOURCES } from "../webhook-events.ts";
import { Deleted, endpoint, IdParams, Nullable } from "./common.ts";

export const WebhookSourceName = Type.Enum(WEBHOOK_SOURCES);
export type WebhookSourceName = Static<typeof WebhookSourceName>;

export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const DeliveryInfo = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  event: Type.String(),
  /** Made with "Send test event". */
  test: Type.Boolean(),
  status: Type.Enum(DELIVERY_STATUSES),
  attempts: Type.Number(),
  responseStatus: Nullable(Type.Number()),
  /** The start of the receiver's last answer (at most 500 characters). */
  responseExcerpt: Nullable(Type.String()),
  error: Nullable(Type.String()),
  nextAttemptAt: Nullable(Type.Number()),
  deliveredAt: Nullable(Type.Number()),
  createdAt: Type.Number(),
});
export type DeliveryInfo = Static<typeof DeliveryInfo>;

/** A webhook as listed: never its secret. */
export const WebhookInfo = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  url: Type.String(),
  source: WebhookSourceName,
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  /** Header names only: values may be credentials. */
  headerNames: Type.Array(Type.String()),
  allAccounts: Type.Boolean(),
  createdAt: Type.Number(),
  lastDelivery: Nullable(
    Type.Object({
      status: Type.Enum(DELIVERY_STATUSES),
      responseStatus: Nullable(Type.Number()),
      attempts: Type.Number(),
      createdAt: Type.Number(),
    }),
  ),
});
export type WebhookInfo = Static<typeof WebhookInfo>;

export const WebhooksResponse = Type.Object({ webhooks: Type.Array(WebhookInfo) });
export type WebhooksResponse = Static<typeof WebhooksResponse>;

export const CreateWebhookRequest = Type.Object(
  {
    url: Type.String({ maxLength: 2000 }),
    source: Type.Union([
      Type.Literal("email"),
      Type.Literal("account_status"),
      Type.Literal("email_tracking"),
    ]),
    events: Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    headers: Type.Optional(
      Type.Array(
        Type.Object(
          { key: Type.String({ maxLength: 200 }), value: Type.String({ maxLength: 4000 }) },
          { additionalProperties: false },
        ),
        { maxItems: 20 },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CreateWebhookRequest = Static<typeof CreateWebhookRequest>;

export const CreateWebhookResponse = Type.Object({
  /** Shown once: sign-checking receivers need it, and the list never shows it. */
  secret: Type.String(),
  webhook: WebhookInfo,
});
export type CreateWebhookResponse = Static<typeof CreateWebhookResponse>;

export const RotateSecretResponse = Type.Object({
  /** Shown once. */
  secret: Type.String(),
  /** Until then deliveries carry a second v1= signed with the previous secret. */
  previousSecretExpiresAt: Type.Number(),
  graceHours: Type.Number(),
});
export type RotateSecretResponse = Static<typeof RotateSecretResponse>;

export const TestEventResponse = Type.Object({ eventId: Type.String(), deliveryId: Type.String() });
export type TestEventResponse = Static<typeof TestEventResponse>;

export const DeliveriesResponse = Type.Object({ deliveries: Type.Array(DeliveryInfo) });
export type DeliveriesResponse = Static<typeof DeliveriesResponse>;

/** One delivery again (`deliveryId`), or every failed one created at or after `since`. */
export const ReplayRequest = Type.Union([
  Type.Object({ deliveryId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
  Type.Object({ since: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
]);
export type ReplayRequest = Static<typeof ReplayRequest>;

export const ReplayResponse = Type.Object({ count: Type.Number() });
export type ReplayResponse = Static<typeof ReplayResponse>;

export const CallbackSigningResponse = Type.Object({
  /** Signs notify_url callbacks (X-Mailroom-Signature); revealed on request, never listed. */
  secret: Type.String(),
});
export type CallbackSigningResponse = Static<typeof CallbackSigningResponse>;

export const WEBHOOK_ENDPOINTS = [
  endpoint("GET", "/webhooks", { response: { 200: WebhooksResponse } }),
  endpoint("POST", "/webhooks", { body: CreateWebhookRequest, response: { 201: CreateWebhookResponse } }),
  endpoint("DELETE", "/webhooks/:id", { params: IdParams, response: { 200: Deleted } }),
  endpoint("POST", "/webhooks/:id/rotate-secret", {
    params: IdParams,
    response: { 200: RotateSecretResponse },
  }),
  endpoint("POST", "/webhooks/:id/test", { params: IdParams, response: { 202: TestEventResponse } }),
  endpoint("GET", "/webhooks/:id/deliveries", { params: IdParams, response: { 200: DeliveriesResponse } }),
  endpoint("POST", "/webhooks/:id/replay", {
    params: IdParams,
    body: ReplayRequest,
    response: { 202: ReplayResponse },
  }),
  endpoint("POST", "/callback-signing/reveal", { response: { 200: CallbackSigningResponse } }),
] as const;
