// Accounts for the operator: list and search, connect and reconnect links, the account page, delete.
import { type Static, Type } from "typebox";
import { Deleted, endpoint, IdParams, Nullable } from "./common.ts";
import { DELIVERY_STATUSES } from "./webhooks.ts";

export const ACCOUNT_STATUSES = [
  "OK",
  "STOPPED",
  "ERROR",
  "CREDENTIALS",
  "PERMISSIONS",
  "CONNECTING",
] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

const accountItemProperties = {
  id: Type.String(),
  name: Type.String(),
  email: Type.String(),
  status: Type.Enum(ACCOUNT_STATUSES),
  statusReason: Nullable(Type.String()),
  tenantId: Nullable(Type.String()),
  /** A shared mailbox: the connected account whose sign-in reaches it. */
  reachedThrough: Nullable(Type.Object({ accountId: Type.String(), email: Type.String() })),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
};

export const AccountItem = Type.Object(accountItemProperties);
export type AccountItem = Static<typeof AccountItem>;

export const ACCOUNTS_PAGE_SIZE = 50;

export const AccountsQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  /** `nextCursor` of the previous page. */
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});

export const AccountsResponse = Type.Object({
  /** Newest first; a search page may hold fewer than `limit` while more accounts remain to search. */
  accounts: Type.Array(AccountItem),
  /** Where the next page starts; null on the last page. */
  nextCursor: Nullable(Type.String()),
  /** True when there is a next page. */
  truncated: Type.Boolean(),
});
export type AccountsResponse = Static<typeof AccountsResponse>;

export const AccountEvent = Type.Object({ at: Type.Number(), kind: Type.String(), detail: Type.String() });
export type AccountEvent = Static<typeof AccountEvent>;

/** The notify_url callback of one of the account's hosted links, from its delivery log. */
export const NotifyCallback = Type.Object({
  linkId: Type.String(),
  url: Type.String(),
  status: Type.Enum(DELIVERY_STATUSES),
  attempts: Type.Number(),
  lastStatusCode: Nullable(Type.Number()),
  /** Why the last attempt failed (a refused address names WEBHOOK_ALLOW_PRIVATE_ADDRESSES). */
  lastError: Nullable(Type.String()),
  nextAttemptAt: Nullable(Type.Number()),
  deliveredAt: Nullable(Type.Number()),
  updatedAt: Type.Number(),
});
export type NotifyCallback = Static<typeof NotifyCallback>;

export const AccountDetailResponse = Type.Object({
  account: Type.Object({
    ...accountItemProperties,
    lastRefreshedAt: Nullable(Type.Number()),
    accessTokenExpiresAt: Nullable(Type.Number()),
    refreshFailures: Nullable(Type.Number()),
    refreshRetryAt: Nullable(Type.Number()),
    scopes: Nullable(Type.String()),
  }),
  /**
   * Newest first: the account's events from the webhook event store when there are any, otherwise
   * built from what Mailroom stores (connection links, token state).
   */
  events: Type.Array(AccountEvent),
  eventsSource: Type.String(),
  /** notify_url callbacks of the account's hosted links, newest link first. */
  callbacks: Type.Array(NotifyCallback),
});
export type AccountDetailResponse = Static<typeof AccountDetailResponse>;

export const LinkRequest = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type LinkRequest = Static<typeof LinkRequest>;

export const LinkResponse = Type.Object({ url: Type.String(), expiresAt: Type.Number() });
export type LinkResponse = Static<typeof LinkResponse>;

export const ACCOUNT_ENDPOINTS = [
  endpoint("GET", "/accounts", { querystring: AccountsQuery, response: { 200: AccountsResponse } }),
  endpoint("GET", "/accounts/:id", { params: IdParams, response: { 200: AccountDetailResponse } }),
  endpoint("POST", "/accounts/link", { body: LinkRequest, response: { 200: LinkResponse } }),
  endpoint("POST", "/accounts/:id/reconnect-link", { params: IdParams, response: { 200: LinkResponse } }),
  endpoint("DELETE", "/accounts/:id", { params: IdParams, response: { 200: Deleted } }),
] as const;
