// Session, first-run setup, sign-in/out and admin invitations. Times are epoch milliseconds.
import { type Static, Type } from "typebox";
import { endpoint, Nullable } from "./common.ts";

export const AdminInfo = Type.Object({
  id: Type.String(),
  email: Type.String(),
  createdAt: Type.Number(),
  lastSignInAt: Nullable(Type.Number()),
});
export type AdminInfo = Static<typeof AdminInfo>;

export const SandboxUser = Type.Object({
  email: Type.String(),
  password: Type.String(),
  kind: Type.String(),
});
export type SandboxUser = Static<typeof SandboxUser>;

export const SandboxInfo = Type.Object({ url: Type.String(), users: Type.Array(SandboxUser) });
export type SandboxInfo = Static<typeof SandboxInfo>;

/** Who is signed in, and what the app needs before any page. */
/** Polling health (only for a signed-in admin): stretched while Mailroom cannot keep up. */
export const PollingInfo = Type.Object({
  /** Every poll interval is the configured one × this (1 = keeping up). */
  stretch: Type.Number(),
  intervalSeconds: Type.Number(),
  effectiveIntervalSeconds: Type.Number(),
  lagP99Seconds: Type.Number(),
  lagMaxSeconds: Type.Number(),
  polledAccounts: Type.Number(),
});
export type PollingInfo = Static<typeof PollingInfo>;

export const SessionResponse = Type.Object({
  admin: Nullable(AdminInfo),
  /** Echo in the CSRF header on POST/PUT/DELETE; null before sign-in (send "1" then). */
  csrfToken: Nullable(Type.String()),
  /** True on a fresh install: no admin exists yet, so the setup link printed at start-up is needed. */
  setupRequired: Type.Boolean(),
  publicUrl: Type.String(),
  /** Only for a signed-in admin, when the Microsoft sandbox runs. */
  sandbox: Nullable(SandboxInfo),
  /** Only for a signed-in admin. */
  polling: Type.Optional(Nullable(PollingInfo)),
});
export type SessionResponse = Static<typeof SessionResponse>;

export const SetupLinkQuery = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) });

export const SetupLinkInfo = Type.Object({
  kind: Type.Union([Type.Literal("setup"), Type.Literal("invite")]),
  email: Nullable(Type.String()),
});
export type SetupLinkInfo = Static<typeof SetupLinkInfo>;

export const SetupRequest = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    email: Type.String({ maxLength: 320 }),
    password: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type SetupRequest = Static<typeof SetupRequest>;

export const SignInRequest = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type SignInRequest = Static<typeof SignInRequest>;

export const SignedIn = Type.Object({ admin: AdminInfo });
export type SignedIn = Static<typeof SignedIn>;

export const AdminsResponse = Type.Object({
  admins: Type.Array(AdminInfo),
  invites: Type.Array(
    Type.Object({
      id: Type.String(),
      email: Nullable(Type.String()),
      createdAt: Type.Number(),
      expiresAt: Type.Number(),
    }),
  ),
});
export type AdminsResponse = Static<typeof AdminsResponse>;

export const InviteRequest = Type.Object(
  { email: Type.Optional(Type.String({ maxLength: 320 })) },
  { additionalProperties: false },
);
export type InviteRequest = Static<typeof InviteRequest>;

export const InviteResponse = Type.Object({ url: Type.String(), expiresAt: Nullable(Type.Number()) });
export type InviteResponse = Static<typeof InviteResponse>;

export const SESSION_ENDPOINTS = [
  endpoint("GET", "/session", { response: { 200: SessionResponse } }),
  endpoint("GET", "/setup-link", { querystring: SetupLinkQuery, response: { 200: SetupLinkInfo } }),
  endpoint("POST", "/setup", { body: SetupRequest, response: { 200: SignedIn } }),
  endpoint("POST", "/sign-in", { body: SignInRequest, response: { 200: SignedIn } }),
  endpoint("POST", "/sign-out", { response: { 200: Type.Object({ signedOut: Type.Literal(true) }) } }),
  endpoint("GET", "/admins", { response: { 200: AdminsResponse } }),
  endpoint("POST", "/admins/invites", { body: InviteRequest, response: { 200: InviteResponse } }),
] as const;
