// Settings → Microsoft OAuth and the publisher-verification self-check. Times are epoch milliseconds.
import { type Static, Type } from "typebox";
import { CHECK_RESULTS } from "../credential-check.ts";
import { endpoint, Nullable } from "./common.ts";

export const CredentialCheckInfo = Type.Object({
  result: Type.Enum(CHECK_RESULTS),
  checkedAt: Type.Number(),
  message: Type.String(),
  fix: Nullable(Type.String()),
  aadsts: Type.Optional(Type.Number()),
});
export type CredentialCheckInfo = Static<typeof CredentialCheckInfo>;

export const MicrosoftSettingsResponse = Type.Object({
  settings: Nullable(
    Type.Object({
      clientId: Type.String(),
      displayName: Nullable(Type.String()),
      audience: Type.String(),
      /** Connected users may open shared mailboxes (sign-in asks for the `.Shared` scopes). */
      sharedMailboxes: Type.Boolean(),
      secretExpiresAt: Nullable(Type.Number()),
      hasSecret: Type.Boolean(),
      check: Nullable(CredentialCheckInfo),
      appProblem: Nullable(Type.Object({ code: Type.String(), message: Type.String(), at: Type.Number() })),
      updatedAt: Type.Number(),
    }),
  ),
  redirectUris: Type.Array(Type.String()),
  /** Supported account types to choose in Azure. */
  audienceLabel: Type.String(),
  delegatedPermissions: Type.Array(Type.String()),
  requestedScopes: Type.Array(Type.String()),
  expiryWarning: Nullable(Type.Object({ daysLeft: Type.Number(), expiresAt: Type.Number() })),
  publisher: Type.Object({
    url: Type.String(),
    /** Exact body served at `url`, or null while no app is configured. */
    json: Nullable(Type.String()),
  }),
});
export type MicrosoftSettingsResponse = Static<typeof MicrosoftSettingsResponse>;

export const MicrosoftSettingsRequest = Type.Object(
  {
    clientId: Type.String({ maxLength: 100 }),
    /** Empty or absent keeps the stored secret. */
    clientSecret: Type.Optional(Type.String({ maxLength: 1000 })),
    /** YYYY-MM-DD as Azure shows it; null clears it. */
    secretExpiresOn: Type.Optional(Nullable(Type.String({ maxLength: 10 }))),
    displayName: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    /** Absent keeps the stored choice. */
    sharedMailboxes: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type MicrosoftSettingsRequest = Static<typeof MicrosoftSettingsRequest>;

export const PublisherCheckResponse = Type.Object({
  url: Type.String(),
  ok: Type.Boolean(),
  /** One line per check, each passed or not, with what to do when not. */
  checks: Type.Array(Type.Object({ name: Type.String(), passed: Type.Boolean(), detail: Type.String() })),
});
export type PublisherCheckResponse = Static<typeof PublisherCheckResponse>;

export const SETTINGS_ENDPOINTS = [
  endpoint("GET", "/settings/microsoft", { response: { 200: MicrosoftSettingsResponse } }),
  endpoint("PUT", "/settings/microsoft", {
    body: MicrosoftSettingsRequest,
    response: { 200: MicrosoftSettingsResponse },
  }),
  endpoint("POST", "/settings/microsoft/publisher-check", { response: { 200: PublisherCheckResponse } }),
] as const;
