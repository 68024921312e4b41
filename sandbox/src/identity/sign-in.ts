// One sign-in transaction's way through the pages: which page comes next (username, password,
// account picker, consent, admin approval) or the redirect that ends it with a code or an error.
import { createHash } from "node:crypto";
import type { SandboxUser } from "../state.ts";
import {
  audienceProblem,
  grantedScopes,
  isPersonal,
  resolveAuthority,
  unknownAccountMessage,
} from "./authority.ts";
import {
  baseUrl,
  CODE_LIFETIME_MS,
  errorPageResult,
  html,
  type IdentityEnv,
  type IdentityRequest,
  type IdentityResult,
  redirectError,
  redirectToApp,
} from "./context.ts";
import { AADSTS } from "./errors.ts";
import {
  accountPickerPage,
  adminApprovalPage,
  consentPage,
  emailPage,
  type FormTarget,
  passwordPage,
} from "./pages.ts";
import { randomToken, type SignInTransaction } from "./runtime.ts";
import { OIDC_SCOPES, SCOPE_DESCRIPTIONS } from "./scopes.ts";
import { getSession, sessionUsers } from "./session.ts";

type Req = Pick<IdentityRequest, "cookie" | "correlationId">;

function txUrl(env: IdentityEnv, tx: SignInTransaction, action: "return" | "switch"): string {
  return `${baseUrl(env)}/${encodeURIComponent(tx.tenantSegment)}/oauth2/v2.0/${action}?ctx=${encodeURIComponent(tx.id)}`;
}

function formTarget(env: IdentityEnv, tx: SignInTransaction): FormTarget {
  return { action: `${baseUrl(env)}/${encodeURIComponent(tx.tenantSegment)}/login`, ctx: tx.id };
}

export function showEmail(
  env: IdentityEnv,
  tx: SignInTransaction,
  error?: string,
  prefill?: string,
): IdentityResult {
  return html(
    emailPage(formTarget(env, tx), { prefill: prefill ?? tx.email ?? tx.loginHint, error, showBack: true }),
  );
}

export function showPassword(
  env: IdentityEnv,
  tx: SignInTransaction,
  email: string,
  error?: string,
): IdentityResult {
  return html(passwordPage(formTarget(env, tx), { email, error, otherAccountUrl: txUrl(env, tx, "switch") }));
}

function picker(env: IdentityEnv, tx: SignInTransaction, users: SandboxUser[]): IdentityResult {
  return html(
    accountPickerPage(
      formTarget(env, tx),
      users.map((u) => ({ id: u.id, email: u.email, displayName: u.displayName })),
    ),
  );
}

function adminApproval(
  env: IdentityEnv,
  tx: SignInTransaction,
  appName: string,
  email: string,
): IdentityResult {
  return html(
    adminApprovalPage({
      appName,
      email,
      returnUrl: txUrl(env, tx, "return"),
      adminSignInUrl: txUrl(env, tx, "switch"),
    }),
  );
}

export function requestedScopes(tx: SignInTransaction): string[] {
  return [...tx.oidc, ...tx.graph];
}

export function cancelToApp(env: IdentityEnv, req: Req, tx: SignInTransaction): IdentityResult {
  env.runtime.transactions.delete(tx.id);
  if (tx.adminConsent) {
    return redirectError(env, req, tx, AADSTS.consentDeclined(), { admin_consent: "True" });
  }
  const fields: Record<string, string> = { error: "access_denied", error_subcode: "cancel" };
  if (tx.state !== undefined) fields.state = tx.state;
  return redirectToApp(tx, fields);
}

/** Decides the next page for a transaction, or finishes it with a redirect to the app. */
export function advance(env: IdentityEnv, req: Req, tx: SignInTransaction): IdentityResult {
  const { state } = env;
  if (tx.userId === undefined) {
    const signedIn = sessionUsers(env, getSession(env, req)).filter(
      (u) => audienceProblem(state, tx, u) === undefined,
    );
    const hint = tx.loginHint?.toLowerCase();
    if (tx.prompt === "none") {
      const candidates = hint ? signedIn.filter((u) => u.email.toLowerCase() === hint) : signedIn;
      const only = candidates[0];
      if (!only) return redirectError(env, req, tx, AADSTS.loginRequired());
      if (candidates.length > 1) return redirectError(env, req, tx, AADSTS.selectAccount());
      tx.userId = only.id;
    } else if (tx.prompt === "login" || tx.adminConsent) {
      const hinted = tx.loginHint ? state.userByEmail(tx.loginHint) : undefined;
      if (hinted) {
        tx.email = hinted.email;
        return showPassword(env, tx, hinted.email);
      }
      return showEmail(env, tx);
    } else if (tx.prompt === "select_account") {
      if (signedIn.length === 0) return showEmail(env, tx);
      return picker(env, tx, signedIn);
    } else if (hint) {
      const ssoUser = signedIn.find((u) => u.email.toLowerCase() === hint);
      if (ssoUser) tx.userId = ssoUser.id;
      else {
        const hinted = state.userByEmail(hint);
        if (!hinted) return showEmail(env, tx, unknownAccountMessage(state, tx.tenantSegment), tx.loginHint);
        const problem = audienceProblem(state, tx, hinted);
        if (problem) return showEmail(env, tx, problem, hinted.email);
        tx.email = hinted.email;
        return showPassword(env, tx, hinted.email);
      }
    } else if (signedIn.length === 1 && signedIn[0]) {
      tx.userId = signedIn[0].id;
    } else if (signedIn.length > 1) {
      return picker(env, tx, signedIn);
    } else {
      return showEmail(env, tx);
    }
  }
  return afterAuthentication(env, req, tx);
}

/** The user is known: tenant checks, then consent (or admin approval), then the code. */
export function afterAuthentication(env: IdentityEnv, req: Req, tx: SignInTransaction): IdentityResult {
  const { state } = env;
  const user = tx.userId ? state.users.get(tx.userId) : undefined;
  const appReg = state.apps.get(tx.clientId);
  if (!user || !appReg) return errorPageResult(env, req, AADSTS.malformed());
  const authority = resolveAuthority(state, tx.tenantSegment);
  if (authority?.kind === "tenant" && authority.tenant && authority.tenant.id !== user.tenantId) {
    const idp = isPersonal(user) ? "live.com" : `https://sts.windows.net/${user.tenantId}/`;
    return redirectError(env, req, tx, AADSTS.userNotInTenant(user.email, idp, authority.tenant.displayName));
  }
  if (
    appReg.signInAudience === "AzureADMyOrg" &&
    user.tenantId !== appReg.homeTenantId &&
    authority?.kind === "tenant"
  ) {
    const tenant = state.tenants.get(appReg.homeTenantId);
    return redirectError(
      env,
      req,
      tx,
      AADSTS.userNotInTenant(
        user.email,
        `https://sts.windows.net/${user.tenantId}/`,
        tenant?.displayName ?? "",
      ),
    );
  }
  const tenant = state.tenants.get(user.tenantId);
  const mustAskAdmin = !isPersonal(user) && tenant?.requiresAdminConsent === true && !user.isTenantAdmin;

  if (tx.adminConsent) {
    if (!user.isTenantAdmin) return adminApproval(env, tx, appReg.name, user.email);
    return html(
      consentPage(formTarget(env, tx), {
        appName: appReg.name,
        email: user.email,
        permissions: describeScopes(tx.graph.length ? tx.graph : appReg.permissions),
        personal: false,
        onBehalf: "tenant",
      }),
    );
  }

  const granted = grantedScopes(state, user, appReg);
  const missing = requestedScopes(tx).filter((s) => !granted.has(s));
  const forceConsent = tx.prompt === "consent";
  if (missing.length > 0 || forceConsent) {
    if (tx.prompt === "none") {
      const err = AADSTS.consentRequired(appReg.clientId, appReg.name);
      return redirectError(env, req, tx, { code: err.code, error: "consent_required", message: err.message });
    }
    if (mustAskAdmin) return adminApproval(env, tx, appReg.name, user.email);
    const toShow = forceConsent ? requestedScopes(tx) : missing;
    return html(
      consentPage(formTarget(env, tx), {
        appName: appReg.name,
        email: user.email,
        permissions: describeScopes(toShow),
        personal: isPersonal(user),
        onBehalf: user.isTenantAdmin && !isPersonal(user) ? "checkbox" : "none",
      }),
    );
  }
  return issueCode(env, tx, user);
}

function describeScopes(scopes: readonly string[]): string[] {
  // Microsoft lists resource permissions first and folds openid into "Sign you in".
  const order = (s: string) => ((OIDC_SCOPES as readonly string[]).includes(s) ? 1 : 0);
  const sorted = [...new Set(scopes)].sort((a, b) => order(a) - order(b));
  return sorted.map((s) => SCOPE_DESCRIPTIONS[s] ?? s);
}

export function issueCode(env: IdentityEnv, tx: SignInTransaction, user: SandboxUser): IdentityResult {
  const { state, runtime } = env;
  runtime.transactions.delete(tx.id);
  const now = state.now();
  const code = `1.${randomToken(24)}.${randomToken(200)}`;
  const appReg = state.apps.get(tx.clientId);
  // The code carries every scope granted for the resource, not only the requested ones.
  const granted = appReg ? grantedScopes(state, user, appReg) : new Set<string>();
  const graph = [
    ...new Set([...tx.graph, ...[...granted].filter((s) => !(OIDC_SCOPES as readonly string[]).includes(s))]),
  ];
  runtime.codes.set(code, {
    code,
    clientId: tx.clientId,
    redirectUri: tx.redirectUri,
    userId: user.id,
    tenantSegment: tx.tenantSegment,
    oidc: new Set(tx.oidc),
    graph,
    nonce: tx.nonce,
    codeChallenge: tx.codeChallenge,
    codeChallengeMethod: tx.codeChallengeMethod,
    issuedAt: now,
    expiresAt: now + CODE_LIFETIME_MS,
    redeemedAt: null,
  });
  const fields: Record<string, string> = { code };
  if (tx.clientInfo) {
    fields.client_info = Buffer.from(JSON.stringify({ uid: user.id, utid: user.tenantId })).toString(
      "base64url",
    );
  }
  if (tx.state !== undefined) fields.state = tx.state;
  fields.session_state = createHash("sha256").update(`${user.id}|session`).digest("hex").slice(0, 32);
  return redirectToApp(tx, fields);
}
