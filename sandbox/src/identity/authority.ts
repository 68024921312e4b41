// Authorities (`common`, `organizations`, `consumers`, a tenant id or domain), which accounts may
// sign in through them, and reply-URL matching (reference §1.1, §1.2).
import {
  type AppRegistration,
  CONSUMERS_TENANT_ID,
  type Consent,
  type SandboxState,
  type SandboxUser,
  type Tenant,
} from "../state.ts";
import { OIDC_SCOPES } from "./scopes.ts";

export type AuthorityKind = "common" | "organizations" | "consumers" | "tenant";

export interface Authority {
  kind: AuthorityKind;
  segment: string;
  tenant?: Tenant;
}

export function resolveAuthority(state: SandboxState, segment: string): Authority | undefined {
  const lower = segment.toLowerCase();
  if (lower === "common" || lower === "organizations" || lower === "consumers")
    return { kind: lower, segment };
  if (lower === CONSUMERS_TENANT_ID) return { kind: "consumers", segment };
  for (const tenant of state.tenants.values()) {
    if (tenant.id === CONSUMERS_TENANT_ID) continue;
    if (tenant.id.toLowerCase() === lower || tenant.domain.toLowerCase() === lower) {
      return { kind: "tenant", segment, tenant };
    }
  }
  return undefined;
}

export function isPersonal(user: SandboxUser): boolean {
  return user.tenantId === CONSUMERS_TENANT_ID;
}

export function directoryName(authority: Authority): string {
  if (authority.tenant) return authority.tenant.displayName;
  if (authority.kind === "consumers") return "Microsoft Accounts";
  return authority.segment;
}

/** Exact match, except that the port is ignored for http://localhost and 127.0.0.1 (reply-url.md). */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  let req: URL;
  try {
    req = new URL(requested);
  } catch {
    return false;
  }
  const loopback = (h: string) => h === "localhost" || h === "127.0.0.1";
  if (req.protocol !== "http:" || !loopback(req.hostname)) return false;
  return registered.some((r) => {
    try {
      const reg = new URL(r);
      return (
        reg.protocol === "http:" &&
        reg.hostname === req.hostname &&
        reg.pathname === req.pathname &&
        reg.search === req.search
      );
    } catch {
      return false;
    }
  });
}

/**
 * The message shown on the username page when this account cannot use this authority or app
 * (a personal account on a work-only app, and the reverse), else undefined.
 */
export function audienceProblem(
  state: SandboxState,
  tx: { clientId: string; tenantSegment: string; adminConsent: boolean },
  user: SandboxUser,
): string | undefined {
  const appReg = state.apps.get(tx.clientId);
  const authority = resolveAuthority(state, tx.tenantSegment);
  const personalOnly =
    authority?.kind === "consumers" || appReg?.signInAudience === "PersonalMicrosoftAccount";
  const workOnly =
    authority?.kind === "organizations" ||
    tx.adminConsent ||
    appReg?.signInAudience === "AzureADMultipleOrgs" ||
    appReg?.signInAudience === "AzureADMyOrg";
  if (isPersonal(user) && workOnly) {
    return "You can't sign in here with a personal account. Use your work or school account instead.";
  }
  if (!isPersonal(user) && personalOnly) {
    return "That Microsoft account doesn't exist. Enter a different account or get a new one.";
  }
  return undefined;
}

export function unknownAccountMessage(state: SandboxState, tenantSegment: string): string {
  const authority = resolveAuthority(state, tenantSegment);
  return authority?.kind === "consumers"
    ? "That Microsoft account doesn't exist. Enter a different account or get a new one."
    : "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.";
}

export function consentFor(state: SandboxState, user: SandboxUser, clientId: string): Consent | undefined {
  const c = state.consents.get(`${user.id}|${clientId}`);
  return c && !c.revoked ? c : undefined;
}

/** Scopes (OIDC + Graph short names) the user or an admin has granted this app. */
export function grantedScopes(state: SandboxState, user: SandboxUser, appReg: AppRegistration): Set<string> {
  const granted = new Set<string>(consentFor(state, user, appReg.clientId)?.scopes ?? []);
  const tenant = state.tenants.get(user.tenantId);
  if (!isPersonal(user) && tenant?.adminConsentedApps.has(appReg.clientId)) {
    for (const p of appReg.permissions) granted.add(p);
    for (const s of OIDC_SCOPES) granted.add(s);
  }
  return granted;
}
