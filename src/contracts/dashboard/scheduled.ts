// Scheduled emails of an account, on its dashboard page, with a cancel button (docs/adr/0011).
import { type Static, Type } from "typebox";
import { endpoint, IdParams, Nullable } from "./common.ts";

export const SCHEDULED_STATUSES = ["scheduled", "sending", "sent", "failed", "cancelled"] as const;

export const ScheduledItem = Type.Object({
  id: Type.String(),
  sendAt: Type.Number(),
  status: Type.Enum(SCHEDULED_STATUSES),
  subject: Nullable(Type.String()),
  to: Type.Array(Type.String()),
  error: Nullable(Type.String()),
  waitingReason: Nullable(Type.String()),
  sentAt: Nullable(Type.Number()),
});
export type ScheduledItem = Static<typeof ScheduledItem>;

export const ScheduledResponse = Type.Object({
  /** By send_at; the first 100. */
  items: Type.Array(ScheduledItem),
});
export type ScheduledResponse = Static<typeof ScheduledResponse>;

export const SCHEDULED_ENDPOINTS = [
  endpoint("GET", "/accounts/:id/scheduled", { params: IdParams, response: { 200: ScheduledResponse } }),
  endpoint("DELETE", "/scheduled/:id", { params: IdParams, response: { 200: ScheduledItem } }),
] as const;
