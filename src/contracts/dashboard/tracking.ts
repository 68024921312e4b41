// Email tracking on the account page: the account's recent tracked mail with its opens and clicks.
import { type Static, Type } from "typebox";
import { endpoint, IdParams, Nullable } from "./common.ts";

export const TrackedMailEvent = Type.Object({
  type: Type.String(),
  at: Type.Number(),
  url: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
  isPrefetch: Type.Boolean(),
  prefetchReason: Nullable(Type.String()),
});
export type TrackedMailEvent = Static<typeof TrackedMailEvent>;

export const TrackedMail = Type.Object({
  trackingId: Type.String(),
  emailId: Type.String(),
  subject: Nullable(Type.String()),
  recipient: Nullable(Type.String()),
  label: Nullable(Type.String()),
  customDomain: Nullable(Type.String()),
  sentAt: Type.Number(),
  opensTracked: Type.Boolean(),
  linksTracked: Type.Boolean(),
  openCount: Type.Number(),
  clickCount: Type.Number(),
  /** Of the counted opens and clicks, those that look like machines (proxies, scanners). */
  prefetchCount: Type.Number(),
  firstOpenAt: Nullable(Type.Number()),
  lastEventAt: Nullable(Type.Number()),
  /** The latest few events, newest first. */
  events: Type.Array(TrackedMailEvent),
});
export type TrackedMail = Static<typeof TrackedMail>;

export const TrackedMailResponse = Type.Object({ mail: Type.Array(TrackedMail) });
export type TrackedMailResponse = Static<typeof TrackedMailResponse>;

export const TRACKING_ENDPOINTS = [
  endpoint("GET", "/accounts/:id/tracking", { params: IdParams, response: { 200: TrackedMailResponse } }),
] as const;
