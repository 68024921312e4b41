import { Type } from "typebox";

const DataItem = Type.Object({ name: Type.String(), key: Type.String() });
const Header = Type.Object({ key: Type.String(), value: Type.String() });

export const WebhookCreatedSchema = Type.Object({
  object: Type.Literal("WebhookCreated"),
  webhook_id: Type.String(),
  secret: Type.String({
    description: "Signs every delivery (X-Mailroom-Signature). Shown once: store it now.",
  }),
});

export const WebhookSchema = Type.Object({
  object: Type.Literal("Webhook"),
  id: Type.String(),
  type: Type.Literal("AUTO"),
  source: Type.String(),
  name: Type.Optional(Type.String()),
  request_url: Type.String(),
  format: Type.Union([Type.Literal("json"), Type.Literal("form")]),
  enabled: Type.Boolean(),
  headers: Type.Array(Header),
  account_ids: Type.Array(Type.Object({ id: Type.String(), type: Type.Literal("OUTLOOK") })),
  data: Type.Array(DataItem, {
    description: "The items Unipile's SDK accepts; all of them in mailroom.data",
  }),
  events: Type.Optional(
    Type.Array(Type.String(), {
      description: "The events Unipile's SDK accepts; all of them in mailroom.events",
    }),
  ),
  created_at: Type.String({ format: "date-time" }),
  mailroom: Type.Object({
    events: Type.Array(Type.String()),
    data: Type.Array(DataItem),
    all_accounts: Type.Boolean(),
  }),
});

export const WebhookListSchema = Type.Object({
  object: Type.Literal("WebhookList"),
  items: Type.Array(WebhookSchema),
  cursor: Type.Union([Type.String(), Type.Null()]),
});

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const DeliverySchema = Type.Object({
  object: Type.Literal("WebhookDelivery"),
  id: Type.String(),
  webhook_id: Type.String(),
  event_id: Type.String(),
  event: Type.String(),
  account_id: NullableString,
  status: Type.Union([Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed")]),
  attempts: Type.Integer(),
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  last_error: NullableString,
  last_response_excerpt: NullableString,
  next_attempt_at: NullableString,
  delivered_at: NullableString,
  created_at: Type.String({ format: "date-time" }),
});

export const DeliveryListSchema = Type.Object({
  object: Type.Literal("WebhookDeliveryList"),
  items: Type.Array(DeliverySchema),
  cursor: Type.Union([Type.String(), Type.Null()]),
});
