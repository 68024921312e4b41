// The sandbox's fixed world: two work tenants, their users, personal (MSA) users and one
// multitenant app. Ids are derived from a hash of a stable name so they survive restarts.
// Mailboxes are not seeded here: the Graph module creates one for every user with `hasMailbox`.
import { createHash } from "node:crypto";
import {
  type AppRegistration,
  CONSUMERS_TENANT_ID,
  type SandboxState,
  type SandboxUser,
  type Tenant,
  type UserKind,
} from "./state.ts";

/** A GUID derived from a name (SHA-256, version/variant bits set like a v4 GUID). Stable across restarts. */
export function deterministicGuid(name: string): string {
  const hex = createHash("sha256").update(name).digest("hex");
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Personal Microsoft accounts have an `oid` of the form 00000000-0000-0000-xxxx-xxxxxxxxxxxx
 * (as in MSAL's fixtures); the 16 hex digits at the end are what Graph `/me` shows as `id`.
 */
export function personalAccountOid(email: string): string {
  const hex = createHash("sha256").update(`msa:${email.toLowerCase()}`).digest("hex");
  return `00000000-0000-0000-${hex.slice(0, 4)}-${hex.slice(4, 16)}`;
}

/** The 16-hex-digit Graph `/me` id of a personal account (reference §3.1). */
export function personalGraphId(oid: string): string {
  return oid.replaceAll("-", "").slice(16);
}

export const SEED_PASSWORD = "Sandbox!2345";

export const CONTOSO_TENANT_ID = deterministicGuid("tenant:contoso.onmicrosoft.com");
export const FABRIKAM_TENANT_ID = deterministicGuid("tenant:fabrikam.onmicrosoft.com");

export interface SeedTenant {
  id: string;
  displayName: string;
  domain: string;
  requiresAdminConsent: boolean;
}

export const SEEDED_TENANTS: readonly SeedTenant[] = [
  {
    id: CONTOSO_TENANT_ID,
    displayName: "Contoso",
    domain: "contoso.onmicrosoft.com",
    requiresAdminConsent: false,
  },
  {
    // Blocks user consent: non-admins see "Need admin approval" (reference §6.3).
    id: FABRIKAM_TENANT_ID,
    displayName: "Fabrikam",
    domain: "fabrikam.onmicrosoft.com",
    requiresAdminConsent: true,
  },
  {
    // The consumer tenant that personal Microsoft accounts belong to.
    id: CONSUMERS_TENANT_ID,
    displayName: "Microsoft Accounts",
    domain: "live.com",
    requiresAdminConsent: false,
  },
];

export interface SeedUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  givenName: string;
  surname: string;
  kind: UserKind;
  tenantId: string;
  hasMailbox: boolean;
  isTenantAdmin: boolean;
}

function workUser(
  email: string,
  givenName: string,
  surname: string,
  tenantId: string,
  kind: UserKind = "work",
): SeedUser {
  return {
    id: deterministicGuid(`user:${email}`),
    email,
    password: SEED_PASSWORD,
    displayName: `${givenName} ${surname}`.trim(),
    givenName,
    surname,
    kind,
    tenantId,
    hasMailbox: kind !== "no_mailbox",
    isTenantAdmin: kind === "admin",
  };
}

function personalUser(email: string, givenName: string, surname: string): SeedUser {
  return {
    id: personalAccountOid(email),
    email,
    password: SEED_PASSWORD,
    displayName: `${givenName} ${surname}`,
    givenName,
    surname,
    kind: "personal",
    tenantId: CONSUMERS_TENANT_ID,
    hasMailbox: true,
    isTenantAdmin: false,
  };
}

export const SEEDED_USERS: readonly SeedUser[] = [
  workUser("adele.vance@contoso.onmicrosoft.com", "Adele", "Vance", CONTOSO_TENANT_ID),
  workUser("megan.bowen@contoso.onmicrosoft.com", "Megan", "Bowen", CONTOSO_TENANT_ID),
  workUser("alex.wilber@contoso.onmicrosoft.com", "Alex", "Wilber", CONTOSO_TENANT_ID),
  workUser("admin@contoso.onmicrosoft.com", "Contoso", "Administrator", CONTOSO_TENANT_ID, "admin"),
  // Licensed for sign-in but without an Exchange Online mailbox (Graph: MailboxNotEnabledForRESTAPI).
  workUser("lynne.robbins@contoso.onmicrosoft.com", "Lynne", "Robbins", CONTOSO_TENANT_ID, "no_mailbox"),
  workUser("pat.kim@fabrikam.onmicrosoft.com", "Pat", "Kim", FABRIKAM_TENANT_ID),
  workUser("admin@fabrikam.onmicrosoft.com", "Fabrikam", "Administrator", FABRIKAM_TENANT_ID, "admin"),
  personalUser("sam.taylor@outlook.com", "Sam", "Taylor"),
  personalUser("jo.rivera@hotmail.com", "Jo", "Rivera"),
];

/** Handy lookups for tests: `SEEDED.adele.email`, `SEEDED.sam.password`, ... */
export const SEEDED = {
  adele: SEEDED_USERS[0]!,
  megan: SEEDED_USERS[1]!,
  alex: SEEDED_USERS[2]!,
  contosoAdmin: SEEDED_USERS[3]!,
  noMailbox: SEEDED_USERS[4]!,
  pat: SEEDED_USERS[5]!,
  fabrikamAdmin: SEEDED_USERS[6]!,
  sam: SEEDED_USERS[7]!,
  jo: SEEDED_USERS[8]!,
} as const;

/** A multitenant + personal app registration (the shape Mailroom's operator app must have). */
export const SEEDED_APP = {
  clientId: deterministicGuid("app:mailroom-sandbox"),
  clientSecret: "Mrs8Q~sandbox.secret.value-0000000000000",
  secretId: deterministicGuid("secret:mailroom-sandbox:1"),
  name: "Mailroom (sandbox)",
  redirectUris: [
    "http://localhost:3000/api/v1/hosted/microsoft/callback",
    "http://localhost/callback",
    "http://127.0.0.1/callback",
  ],
  signInAudience: "AzureADandPersonalMicrosoftAccount",
  permissions: ["User.Read", "Mail.Read", "Mail.ReadWrite", "Mail.Send", "offline_access"],
  homeTenantId: CONTOSO_TENANT_ID,
} as const;

/** Secrets are capped at 24 months by Entra; the seeded one expires two years after start. */
const TWO_YEARS_MS = 2 * 365 * 24 * 3600 * 1000;

export async function seedWorld(state: SandboxState): Promise<void> {
  const now = state.now();
  for (const t of SEEDED_TENANTS) {
    const tenant: Tenant = { ...t, adminConsentedApps: new Set() };
    state.tenants.set(tenant.id, tenant);
  }
  for (const u of SEEDED_USERS) {
    const user: SandboxUser = { ...u, passwordChangedAt: 0, disabled: false };
    state.users.set(user.id, user);
  }
  const app: AppRegistration = {
    clientId: SEEDED_APP.clientId,
    name: SEEDED_APP.name,
    redirectUris: [...SEEDED_APP.redirectUris],
    signInAudience: SEEDED_APP.signInAudience,
    permissions: [...SEEDED_APP.permissions],
    secrets: [
      {
        id: SEEDED_APP.secretId,
        value: SEEDED_APP.clientSecret,
        hint: SEEDED_APP.clientSecret.slice(0, 3),
        expiresAt: now + TWO_YEARS_MS,
      },
    ],
    homeTenantId: SEEDED_APP.homeTenantId,
    createdAt: now,
  };
  state.apps.set(app.clientId, app);
}
