// /authorize and /adminconsent: validate the request in Microsoft's order (errors that cannot be
// sent back to the app are shown on Microsoft's error page; later ones are redirected to it), then
// open a sign-in transaction and show its first page (reference §1.1, §1.2, §1.9).
import { directoryName, redirectUriMatches, resolveAuthority } from "./authority.ts";
import {
  CODE_LIFETIME_MS,
  errorPageResult,
  type IdentityEnv,
  type IdentityRequest,
  type IdentityResult,
  type Params,
  redirectError,
  str,
  TRANSACTION_LIFETIME_MS,
} from "./context.ts";
import { AADSTS } from "./errors.ts";
import { randomToken, type SignInTransaction } from "./runtime.ts";
import { parseScopes, requestedGraphScopes } from "./scopes.ts";
import { advance } from "./sign-in.ts";

/**
 * `params` are the query (GET) or the query and form merged (POST). `adminConsent` is the
 * /v2.0/adminconsent endpoint: no response_type, a tenant-wide grant.
 */
export function startAuthorize(
  env: IdentityEnv,
  req: IdentityRequest,
  params: Params,
  adminConsent: boolean,
): IdentityResult {
  const { state } = env;
  const segment = req.tenant;
  const authority = resolveAuthority(state, segment);
  if (!authority) return errorPageResult(env, req, AADSTS.tenantNotFound(segment));
  const clientId = str(params, "client_id");
  if (!clientId) return errorPageResult(env, req, AADSTS.missingParameter("client_id"));
  const appReg = state.apps.get(clientId);
  if (!appReg) return errorPageResult(env, req, AADSTS.appNotFound(clientId, directoryName(authority)));
  if (
    appReg.signInAudience === "AzureADMyOrg" &&
    authority.tenant &&
    authority.tenant.id !== appReg.homeTenantId
  ) {
    return errorPageResult(env, req, AADSTS.appNotFound(clientId, directoryName(authority)));
  }
  let redirectUri = str(params, "redirect_uri");
  if (redirectUri === undefined) {
    // The OIDC doc: without redirect_uri one registered URI is used.
    redirectUri = appReg.redirectUris[0];
    if (redirectUri === undefined) return errorPageResult(env, req, AADSTS.noReplyAddress(), appReg.name);
  } else if (!redirectUriMatches(appReg.redirectUris, redirectUri)) {
    return errorPageResult(env, req, AADSTS.redirectMismatch(redirectUri, clientId), appReg.name);
  }
  const responseModeRaw = str(params, "response_mode") ?? "query";
  const stateParam = str(params, "state");
  const early = { redirectUri, responseMode: "query" as const, state: stateParam };
  if (responseModeRaw !== "query" && responseModeRaw !== "fragment" && responseModeRaw !== "form_post") {
    return redirectError(env, req, early, AADSTS.invalidResponseMode(responseModeRaw));
  }
  const target = { redirectUri, responseMode: responseModeRaw, state: stateParam } as const;

  if (!adminConsent) {
    const responseType = str(params, "response_type");
    if (!responseType) return redirectError(env, req, target, AADSTS.missingParameter("response_type"));
    if (responseType !== "code") return redirectError(env, req, target, AADSTS.unsupportedResponseType());
  }
  // App audience versus authority (reference §1.1, §1.9).
  if (
    appReg.signInAudience === "AzureADMyOrg" &&
    (authority.kind === "common" || authority.kind === "organizations")
  ) {
    return redirectError(env, req, target, AADSTS.notMultiTenant(appReg.name, clientId));
  }
  if (
    (appReg.signInAudience === "AzureADMyOrg" || appReg.signInAudience === "AzureADMultipleOrgs") &&
    authority.kind === "consumers"
  ) {
    return redirectError(env, req, target, AADSTS.entraOnlyApp(clientId));
  }
  if (
    appReg.signInAudience === "PersonalMicrosoftAccount" &&
    (authority.kind === "organizations" || authority.kind === "tenant")
  ) {
    return redirectError(env, req, target, AADSTS.msaOnlyApp(clientId));
  }
  if (adminConsent && authority.kind === "common") {
    return redirectError(env, req, target, AADSTS.adminConsentOnCommon(), { admin_consent: "True" });
  }

  const scopeRaw =
    str(params, "scope") ?? (adminConsent ? `https://graph.microsoft.com/.default` : undefined);
  if (!scopeRaw) return redirectError(env, req, target, AADSTS.missingParameter("scope"));
  const parsed = parseScopes(scopeRaw);
  if (!parsed.ok) return redirectError(env, req, target, AADSTS.invalidScope(parsed.invalid));
  const graph = requestedGraphScopes(parsed.scopes, appReg);

  const codeChallenge = str(params, "code_challenge");
  const methodRaw = str(params, "code_challenge_method");
  let codeChallengeMethod: "S256" | "plain" | undefined;
  if (codeChallenge !== undefined) {
    if (methodRaw === undefined || methodRaw === "plain") codeChallengeMethod = "plain";
    else if (methodRaw === "S256") codeChallengeMethod = "S256";
    else {
      return redirectError(env, req, target, {
        code: 501491,
        error: "invalid_request",
        message: `Invalid code_challenge_method '${methodRaw}'. Supported values are 'S256' and 'plain'.`,
      });
    }
  }

  const tx: SignInTransaction = {
    id: randomToken(24),
    tenantSegment: segment,
    clientId,
    redirectUri,
    responseMode: responseModeRaw,
    state: stateParam,
    nonce: str(params, "nonce"),
    oidc: parsed.scopes.oidc,
    graph,
    graphDefault: parsed.scopes.graphDefault,
    codeChallenge,
    codeChallengeMethod,
    prompt: str(params, "prompt")?.toLowerCase(),
    loginHint: str(params, "login_hint"),
    clientInfo: str(params, "client_info") === "1",
    email: undefined,
    userId: undefined,
    createdAt: state.now(),
    adminConsent,
  };
  pruneTransactions(env);
  env.runtime.transactions.set(tx.id, tx);
  return advance(env, req, tx);
}

function pruneTransactions(env: IdentityEnv): void {
  const { state, runtime } = env;
  const cutoff = state.now() - TRANSACTION_LIFETIME_MS;
  for (const [id, tx] of runtime.transactions) if (tx.createdAt < cutoff) runtime.transactions.delete(id);
  const codeCutoff = state.now() - 2 * CODE_LIFETIME_MS;
  for (const [id, c] of runtime.codes) if (c.expiresAt < codeCutoff) runtime.codes.delete(id);
}
