// The token endpoint: client authentication (client_secret_post or client_secret_basic), then the
// authorization_code or refresh_token grant, each check answering Microsoft's AADSTS code
// (reference §1.4–1.7, §1.9).
import { createHash } from "node:crypto";
import { CONSUMERS_TENANT_ID } from "../state.ts";
import { type Authority, directoryName, grantedScopes, resolveAuthority } from "./authority.ts";
import {
  type IdentityEnv,
  type IdentityRequest,
  type IdentityResult,
  type Params,
  safeEqual,
  str,
  tokenErrorResult,
  tokenJson,
} from "./context.ts";
import { AADSTS, type AadstsError } from "./errors.ts";
import { OIDC_SCOPES, parseScopes, requestedGraphScopes } from "./scopes.ts";
import { mintTokenResponse } from "./tokens.ts";

export interface TokenInput {
  /** The `{tenant}` path segment. */
  tenant: string;
  /** The form body; undefined when there was none. */
  params: Params | undefined;
  /** The Authorization header (client_secret_basic). */
  authorization: string | undefined;
}

export type TokenOutcome = { ok: true; body: Record<string, unknown> } | { ok: false; error: AadstsError };

const reject = (error: AadstsError): TokenOutcome => ({ ok: false, error });

/** POST /{tenant}/oauth2/v2.0/token. */
export async function tokenEndpoint(env: IdentityEnv, req: IdentityRequest): Promise<IdentityResult> {
  const outcome = await redeemGrant(env, {
    tenant: req.tenant,
    params: req.body,
    authorization: req.authorization,
  });
  return outcome.ok ? tokenJson(outcome.body) : tokenErrorResult(env, req, outcome.error);
}

/** Validates a token request and, when every check passes, mints the token response. */
export async function redeemGrant(env: IdentityEnv, input: TokenInput): Promise<TokenOutcome> {
  const { state } = env;
  const authority = resolveAuthority(state, input.tenant);
  if (!authority) return reject(AADSTS.tenantNotFound(input.tenant));
  const params = input.params;
  if (!params || typeof params !== "object") return reject(AADSTS.malformed());

  // Client authentication: client_secret_post or client_secret_basic (reference §1.4).
  let clientId = str(params, "client_id");
  let secret = str(params, "client_secret");
  const authz = input.authorization;
  if (authz?.toLowerCase().startsWith("basic ")) {
    const decoded = Buffer.from(authz.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return reject(AADSTS.malformed("invalid_client"));
    const basicId = decodeURIComponent(decoded.slice(0, colon).replaceAll("+", " "));
    clientId ??= basicId;
    if (basicId !== clientId) return reject(AADSTS.malformed("invalid_client"));
    secret ??= decodeURIComponent(decoded.slice(colon + 1).replaceAll("+", " "));
  }
  if (!clientId) return reject(AADSTS.missingParameter("client_id"));
  const appReg = state.apps.get(clientId);
  if (!appReg) return reject(AADSTS.appNotFound(clientId, directoryName(authority)));
  const grantType = str(params, "grant_type");
  if (!grantType) return reject(AADSTS.missingParameter("grant_type"));
  if (grantType !== "authorization_code" && grantType !== "refresh_token") {
    return reject(AADSTS.unsupportedGrantType(grantType));
  }
  if (secret === undefined) {
    if (str(params, "client_assertion") !== undefined) return reject(AADSTS.assertionUnsupported());
    return reject(AADSTS.missingCredential());
  }
  const matched = appReg.secrets.find((s) => safeEqual(s.value, secret));
  if (!matched) return reject(AADSTS.invalidSecret(clientId));
  if (matched.expiresAt <= state.now()) return reject(AADSTS.expiredSecret(clientId));

  const requestedScope = str(params, "scope");
  let requested: ReturnType<typeof parseScopes> | undefined;
  if (requestedScope !== undefined) {
    requested = parseScopes(requestedScope);
    if (!requested.ok) return reject(AADSTS.invalidScope(requested.invalid));
  }
  const grant = { clientId, params, authority, tenant: input.tenant, requested };
  return grantType === "authorization_code"
    ? authorizationCodeGrant(env, grant)
    : refreshTokenGrant(env, grant);
}

interface GrantInput {
  clientId: string;
  params: Params;
  authority: Authority;
  tenant: string;
  requested: ReturnType<typeof parseScopes> | undefined;
}

async function authorizationCodeGrant(env: IdentityEnv, grant: GrantInput): Promise<TokenOutcome> {
  const { state, runtime } = env;
  const { clientId, params, authority } = grant;
  const appReg = state.apps.get(clientId)!;
  const codeValue = str(params, "code");
  if (!codeValue) return reject(AADSTS.missingParameter("code"));
  const code = runtime.codes.get(codeValue);
  if (!code) return reject(AADSTS.malformed("invalid_grant"));
  if (code.clientId !== clientId)
    return reject(AADSTS.grantInvalid("The code was issued to a different client."));
  if (code.redeemedAt !== null) return reject(AADSTS.codeRedeemed());
  if (state.now() >= code.expiresAt) return reject(AADSTS.expiredGrant());
  const redirectUri = str(params, "redirect_uri");
  if (redirectUri === undefined) return reject(AADSTS.missingParameter("redirect_uri"));
  if (redirectUri !== code.redirectUri)
    return reject(AADSTS.replyAddressMismatch(redirectUri, code.redirectUri));
  const user = state.users.get(code.userId);
  if (!user) return reject(AADSTS.malformed("invalid_grant"));
  const sameTenant =
    authority.kind === "common" ||
    grant.tenant.toLowerCase() === code.tenantSegment.toLowerCase() ||
    (authority.tenant?.id ?? (authority.kind === "consumers" ? CONSUMERS_TENANT_ID : "")) === user.tenantId;
  if (!sameTenant) return reject(AADSTS.wrongTenant());
  if (code.codeChallenge !== undefined) {
    const verifier = str(params, "code_verifier");
    const computed =
      verifier === undefined
        ? undefined
        : code.codeChallengeMethod === "S256"
          ? createHash("sha256").update(verifier).digest("base64url")
          : verifier;
    if (computed === undefined || !safeEqual(computed, code.codeChallenge))
      return reject(AADSTS.pkceMismatch());
  }
  if (user.disabled) return reject(AADSTS.userDisabled());
  code.redeemedAt = state.now();
  state.counters.tokenGrants += 1;
  const body = await mintTokenResponse(state, runtime, {
    user,
    app: appReg,
    oidc: code.oidc,
    graph: code.graph,
    nonce: code.nonce,
    includeClientInfo: str(params, "client_info") === "1",
    offline: code.oidc.has("offline_access"),
  });
  return { ok: true, body };
}

async function refreshTokenGrant(env: IdentityEnv, grant: GrantInput): Promise<TokenOutcome> {
  const { state, runtime } = env;
  const { clientId, params, requested } = grant;
  const appReg = state.apps.get(clientId)!;
  const refreshValue = str(params, "refresh_token");
  if (!refreshValue) return reject(AADSTS.missingParameter("refresh_token"));
  const rt = state.refreshTokens.get(refreshValue);
  if (!rt) return reject(AADSTS.malformed("invalid_grant"));
  if (rt.clientId !== clientId) {
    return reject(AADSTS.grantInvalid("The refresh token was issued to a different client."));
  }
  const user = state.users.get(rt.userId);
  if (!user) return reject(AADSTS.malformed("invalid_grant"));
  const now = state.now();
  if (rt.revoked || rt.issuedAt < user.passwordChangedAt) {
    const validFrom = Math.max(user.passwordChangedAt, rt.issuedAt);
    return reject(
      AADSTS.freshTokenNeeded(new Date(rt.issuedAt).toISOString(), new Date(validFrom).toISOString()),
    );
  }
  if (now >= rt.expiresAt) {
    const lastUse = rt.usedAt ?? rt.issuedAt;
    return reject(AADSTS.refreshInactive(new Date(rt.issuedAt).toISOString(), inactivity(now - lastUse)));
  }
  if (user.disabled) return reject(AADSTS.userDisabled());
  const granted = grantedScopes(state, user, appReg);
  const tokenGraph = rt.scopes.filter((s) => !(OIDC_SCOPES as readonly string[]).includes(s));
  const oidc = new Set(rt.scopes.filter((s) => (OIDC_SCOPES as readonly string[]).includes(s)));
  let graph = tokenGraph.filter((s) => granted.has(s));
  if (graph.length < tokenGraph.length || !granted.has("offline_access")) {
    return reject(AADSTS.consentRequired(appReg.clientId, appReg.name));
  }
  if (requested?.ok) {
    const asked = requestedGraphScopes(requested.scopes, appReg);
    const notGranted = asked.filter((s) => !granted.has(s));
    if (notGranted.length > 0) return reject(AADSTS.consentRequired(appReg.clientId, appReg.name));
    // The access token carries every scope granted for the resource (like Entra's `scp`).
    graph = [...new Set([...graph, ...asked])];
  }
  // Rotation: a new refresh token every time; the old one is not revoked (reference §1.6).
  rt.usedAt = now;
  state.counters.tokenRefreshes += 1;
  const body = await mintTokenResponse(state, runtime, {
    user,
    app: appReg,
    oidc,
    graph,
    includeClientInfo: str(params, "client_info") === "1",
    offline: true,
  });
  return { ok: true, body };
}

/** Entra's "d.hh:mm:ss" inactivity span in AADSTS700082. */
export function inactivity(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const rest = ms % 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  const m = Math.floor((rest % 3_600_000) / 60_000);
  const s = Math.floor((rest % 60_000) / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${days}.${pad(h)}:${pad(m)}:${pad(s)}`;
}
