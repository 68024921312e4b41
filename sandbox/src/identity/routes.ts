// The emulated login host (login.microsoftonline.com): authorize + sign-in pages, token,
// logout, discovery, JWKS, admin consent (reference §1, §6, §8.1–8.3).
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import formbody from "@fastify/formbody";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type AppRegistration,
  CONSUMERS_TENANT_ID,
  type Consent,
  type SandboxState,
  type SandboxUser,
  type Tenant,
} from "../state.ts";
import {
  AADSTS,
  type AadstsError,
  countError,
  describe,
  errorContext,
  errorUri,
  tokenErrorBody,
  tokenErrorStatus,
} from "./errors.ts";
import {
  ACCOUNT_LOCKED_HTML,
  accountPickerPage,
  adminApprovalPage,
  consentPage,
  emailPage,
  errorCodePage,
  errorPage,
  type FormTarget,
  formPostPage,
  passwordPage,
  signedOutPage,
  WRONG_PASSWORD_HTML,
} from "./pages.ts";
import {
  createIdentityRuntime,
  type IdentityRuntime,
  randomToken,
  type SignInSession,
  type SignInTransaction,
} from "./runtime.ts";
import { OIDC_SCOPES, parseScopes, requestedGraphScopes, SCOPE_DESCRIPTIONS } from "./scopes.ts";
import { mintTokenResponse } from "./tokens.ts";

export const SESSION_COOKIE = "ESTSAUTH";
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const TRANSACTION_LIFETIME_MS = 60 * 60 * 1000;

type Params = Record<string, unknown>;
type AuthorityKind = "common" | "organizations" | "consumers" | "tenant";
interface Authority {
  kind: AuthorityKind;
  segment: string;
  tenant?: Tenant;
}

function str(params: Params | undefined, name: string): string | undefined {
  const value = params?.[name];
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

function resolveAuthority(state: SandboxState, segment: string): Authority | undefined {
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

function isPersonal(user: SandboxUser): boolean {
  return user.tenantId === CONSUMERS_TENANT_ID;
}

function directoryName(authority: Authority): string {
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

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return out;
}

function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

export async function registerIdentityRoutes(app: FastifyInstance, state: SandboxState): Promise<void> {
  const runtime = await createIdentityRuntime(state);
  await app.register(async (scope) => {
    if (!scope.hasContentTypeParser("application/x-www-form-urlencoded")) await scope.register(formbody);
    registerRoutes(scope, state, runtime);
  });
}

function registerRoutes(app: FastifyInstance, state: SandboxState, runtime: IdentityRuntime): void {
  const base = () => state.options.baseUrl;

  // ---------- helpers bound to state ----------

  function html(reply: FastifyReply, body: string, status = 200): FastifyReply {
    return reply
      .code(status)
      .header("content-type", "text/html; charset=utf-8")
      .header("cache-control", "no-store, no-cache")
      .header("x-frame-options", "DENY")
      .send(body);
  }

  function correlationOf(req: FastifyRequest): string | undefined {
    const q = req.query as Params | undefined;
    const h = req.headers["client-request-id"];
    return str(q, "client-request-id") ?? (typeof h === "string" ? h : undefined);
  }

  function showErrorPage(
    req: FastifyRequest,
    reply: FastifyReply,
    err: AadstsError,
    appName?: string,
  ): FastifyReply {
    countError(state, err);
    const ctx = errorContext(state, correlationOf(req));
    return html(
      reply,
      errorPage({
        code: err.code,
        message: err.message,
        requestId: ctx.traceId,
        correlationId: ctx.correlationId,
        timestamp: ctx.timestamp,
        appName,
      }),
    );
  }

  function redirectToApp(
    reply: FastifyReply,
    tx: Pick<SignInTransaction, "redirectUri" | "responseMode">,
    fields: Record<string, string>,
  ): FastifyReply {
    if (tx.responseMode === "form_post") return html(reply, formPostPage(tx.redirectUri, fields));
    const encoded = new URLSearchParams(fields).toString();
    const sep = tx.responseMode === "fragment" ? "#" : tx.redirectUri.includes("?") ? "&" : "?";
    return reply
      .code(302)
      .header("cache-control", "no-store, no-cache")
      .redirect(`${tx.redirectUri}${sep}${encoded}`);
  }

  function redirectError(
    req: FastifyRequest,
    reply: FastifyReply,
    tx: Pick<SignInTransaction, "redirectUri" | "responseMode" | "state">,
    err: AadstsError,
    extra: Record<string, string> = {},
  ): FastifyReply {
    countError(state, err);
    const ctx = errorContext(state, correlationOf(req));
    const fields: Record<string, string> = {
      ...extra,
      error: err.error,
      error_description: describe(err, ctx),
      error_uri: errorUri(state, err.code),
    };
    if (tx.state !== undefined) fields.state = tx.state;
    return redirectToApp(reply, tx, fields);
  }

  function getSession(req: FastifyRequest): SignInSession | undefined {
    const id = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    return id ? runtime.sessions.get(id) : undefined;
  }

  function ensureSession(req: FastifyRequest, reply: FastifyReply): SignInSession {
    const existing = getSession(req);
    if (existing) return existing;
    const session: SignInSession = {
      id: randomToken(32),
      userIds: [],
      authTimes: new Map(),
      createdAt: state.now(),
    };
    runtime.sessions.set(session.id, session);
    reply.header("set-cookie", `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Lax`);
    return session;
  }

  function sessionUsers(session: SignInSession | undefined): SandboxUser[] {
    if (!session) return [];
    return session.userIds
      .map((id) => state.users.get(id))
      .filter((u): u is SandboxUser => u !== undefined && !u.disabled);
  }

  function formTarget(tx: SignInTransaction): FormTarget {
    return { action: `${base()}/${encodeURIComponent(tx.tenantSegment)}/login`, ctx: tx.id };
  }

  /** Message shown on the email page when this account cannot use this authority/app, else undefined. */
  function audienceProblem(tx: SignInTransaction, user: SandboxUser): string | undefined {
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

  function unknownAccountMessage(tx: SignInTransaction): string {
    const authority = resolveAuthority(state, tx.tenantSegment);
    return authority?.kind === "consumers"
      ? "That Microsoft account doesn't exist. Enter a different account or get a new one."
      : "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.";
  }

  function showEmail(
    reply: FastifyReply,
    tx: SignInTransaction,
    error?: string,
    prefill?: string,
  ): FastifyReply {
    return html(
      reply,
      emailPage(formTarget(tx), { prefill: prefill ?? tx.email ?? tx.loginHint, error, showBack: true }),
    );
  }

  function showPassword(
    reply: FastifyReply,
    tx: SignInTransaction,
    email: string,
    error?: string,
  ): FastifyReply {
    return html(
      reply,
      passwordPage(formTarget(tx), {
        email,
        error,
        otherAccountUrl: `${base()}/${encodeURIComponent(tx.tenantSegment)}/oauth2/v2.0/switch?ctx=${encodeURIComponent(tx.id)}`,
      }),
    );
  }

  function consentFor(user: SandboxUser, clientId: string): Consent | undefined {
    const c = state.consents.get(`${user.id}|${clientId}`);
    return c && !c.revoked ? c : undefined;
  }

  /** Scopes (OIDC + Graph short names) the user or an admin has granted this app. */
  function grantedScopes(user: SandboxUser, appReg: AppRegistration): Set<string> {
    const granted = new Set<string>(consentFor(user, appReg.clientId)?.scopes ?? []);
    const tenant = state.tenants.get(user.tenantId);
    if (!isPersonal(user) && tenant?.adminConsentedApps.has(appReg.clientId)) {
      for (const p of appReg.permissions) granted.add(p);
      for (const s of OIDC_SCOPES) granted.add(s);
    }
    return granted;
  }

  function requestedScopes(tx: SignInTransaction): string[] {
    return [...tx.oidc, ...tx.graph];
  }

  function cancelToApp(req: FastifyRequest, reply: FastifyReply, tx: SignInTransaction): FastifyReply {
    runtime.transactions.delete(tx.id);
    if (tx.adminConsent) {
      return redirectError(req, reply, tx, AADSTS.consentDeclined(), { admin_consent: "True" });
    }
    const fields: Record<string, string> = { error: "access_denied", error_subcode: "cancel" };
    if (tx.state !== undefined) fields.state = tx.state;
    return redirectToApp(reply, tx, fields);
  }

  /** Decide the next page for a transaction, or finish it with a redirect to the app. */
  function advance(req: FastifyRequest, reply: FastifyReply, tx: SignInTransaction): FastifyReply {
    if (tx.userId === undefined) {
      const session = getSession(req);
      const signedIn = sessionUsers(session).filter((u) => audienceProblem(tx, u) === undefined);
      const hint = tx.loginHint?.toLowerCase();
      if (tx.prompt === "none") {
        const candidates = hint ? signedIn.filter((u) => u.email.toLowerCase() === hint) : signedIn;
        const only = candidates[0];
        if (!only) return redirectError(req, reply, tx, AADSTS.loginRequired());
        if (candidates.length > 1) return redirectError(req, reply, tx, AADSTS.selectAccount());
        tx.userId = only.id;
      } else if (tx.prompt === "login" || tx.adminConsent) {
        const hinted = tx.loginHint ? state.userByEmail(tx.loginHint) : undefined;
        if (hinted) {
          tx.email = hinted.email;
          return showPassword(reply, tx, hinted.email);
        }
        return showEmail(reply, tx);
      } else if (tx.prompt === "select_account") {
        if (signedIn.length === 0) return showEmail(reply, tx);
        return html(
          reply,
          accountPickerPage(
            formTarget(tx),
            signedIn.map((u) => ({ id: u.id, email: u.email, displayName: u.displayName })),
          ),
        );
      } else {
        if (hint) {
          const ssoUser = signedIn.find((u) => u.email.toLowerCase() === hint);
          if (ssoUser) tx.userId = ssoUser.id;
          else {
            const hinted = state.userByEmail(hint);
            if (!hinted) return showEmail(reply, tx, unknownAccountMessage(tx), tx.loginHint);
            const problem = audienceProblem(tx, hinted);
            if (problem) return showEmail(reply, tx, problem, hinted.email);
            tx.email = hinted.email;
            return showPassword(reply, tx, hinted.email);
          }
        } else if (signedIn.length === 1 && signedIn[0]) {
          tx.userId = signedIn[0].id;
        } else if (signedIn.length > 1) {
          return html(
            reply,
            accountPickerPage(
              formTarget(tx),
              signedIn.map((u) => ({ id: u.id, email: u.email, displayName: u.displayName })),
            ),
          );
        } else {
          return showEmail(reply, tx);
        }
      }
    }
    return afterAuthentication(req, reply, tx);
  }

  function afterAuthentication(
    req: FastifyRequest,
    reply: FastifyReply,
    tx: SignInTransaction,
  ): FastifyReply {
    const user = tx.userId ? state.users.get(tx.userId) : undefined;
    const appReg = state.apps.get(tx.clientId);
    if (!user || !appReg) return showErrorPage(req, reply, AADSTS.malformed());
    const authority = resolveAuthority(state, tx.tenantSegment);
    if (authority?.kind === "tenant" && authority.tenant && authority.tenant.id !== user.tenantId) {
      const idp = isPersonal(user) ? "live.com" : `https://sts.windows.net/${user.tenantId}/`;
      return redirectError(
        req,
        reply,
        tx,
        AADSTS.userNotInTenant(user.email, idp, authority.tenant.displayName),
      );
    }
    if (
      appReg.signInAudience === "AzureADMyOrg" &&
      user.tenantId !== appReg.homeTenantId &&
      authority?.kind === "tenant"
    ) {
      const tenant = state.tenants.get(appReg.homeTenantId);
      return redirectError(
        req,
        reply,
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
      if (!user.isTenantAdmin) {
        return html(
          reply,
          adminApprovalPage({
            appName: appReg.name,
            email: user.email,
            returnUrl: `${base()}/${encodeURIComponent(tx.tenantSegment)}/oauth2/v2.0/return?ctx=${encodeURIComponent(tx.id)}`,
            adminSignInUrl: `${base()}/${encodeURIComponent(tx.tenantSegment)}/oauth2/v2.0/switch?ctx=${encodeURIComponent(tx.id)}`,
          }),
        );
      }
      return html(
        reply,
        consentPage(formTarget(tx), {
          appName: appReg.name,
          email: user.email,
          permissions: describeScopes(tx.graph.length ? tx.graph : appReg.permissions),
          personal: false,
          onBehalf: "tenant",
        }),
      );
    }

    const granted = grantedScopes(user, appReg);
    const missing = requestedScopes(tx).filter((s) => !granted.has(s));
    const forceConsent = tx.prompt === "consent";
    if (missing.length > 0 || forceConsent) {
      if (tx.prompt === "none") {
        const err = AADSTS.consentRequired(appReg.clientId, appReg.name);
        return redirectError(req, reply, tx, {
          code: err.code,
          error: "consent_required",
          message: err.message,
        });
      }
      if (mustAskAdmin) {
        return html(
          reply,
          adminApprovalPage({
            appName: appReg.name,
            email: user.email,
            returnUrl: `${base()}/${encodeURIComponent(tx.tenantSegment)}/oauth2/v2.0/return?ctx=${encodeURIComponent(tx.id)}`,
            adminSignInUrl: `${base()}/${encodeURIComponent(tx.tenantSegment)}/oauth2/v2.0/switch?ctx=${encodeURIComponent(tx.id)}`,
          }),
        );
      }
      const toShow = forceConsent ? requestedScopes(tx) : missing;
      return html(
        reply,
        consentPage(formTarget(tx), {
          appName: appReg.name,
          email: user.email,
          permissions: describeScopes(toShow),
          personal: isPersonal(user),
          onBehalf: user.isTenantAdmin && !isPersonal(user) ? "checkbox" : "none",
        }),
      );
    }
    return issueCode(reply, tx, user);
  }

  function describeScopes(scopes: readonly string[]): string[] {
    // Microsoft lists resource permissions first and folds openid into "Sign you in".
    const order = (s: string) => ((OIDC_SCOPES as readonly string[]).includes(s) ? 1 : 0);
    const sorted = [...new Set(scopes)].sort((a, b) => order(a) - order(b));
    return sorted.map((s) => SCOPE_DESCRIPTIONS[s] ?? s);
  }

  function issueCode(reply: FastifyReply, tx: SignInTransaction, user: SandboxUser): FastifyReply {
    runtime.transactions.delete(tx.id);
    const now = state.now();
    const code = `1.${randomToken(24)}.${randomToken(200)}`;
    const appReg = state.apps.get(tx.clientId);
    // The code carries every scope granted for the resource, not only the requested ones.
    const granted = appReg ? grantedScopes(user, appReg) : new Set<string>();
    const graph = [
      ...new Set([
        ...tx.graph,
        ...[...granted].filter((s) => !(OIDC_SCOPES as readonly string[]).includes(s)),
      ]),
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
    return redirectToApp(reply, tx, fields);
  }

  function signIn(req: FastifyRequest, reply: FastifyReply, user: SandboxUser): void {
    const session = ensureSession(req, reply);
    session.userIds = [...session.userIds.filter((id) => id !== user.id), user.id];
    session.authTimes.set(user.id, state.now());
  }

  // ---------- /authorize ----------

  function startAuthorize(
    req: FastifyRequest<{ Params: { tenant: string } }>,
    reply: FastifyReply,
    params: Params,
    adminConsent: boolean,
  ): FastifyReply {
    const segment = req.params.tenant;
    const authority = resolveAuthority(state, segment);
    if (!authority) return showErrorPage(req, reply, AADSTS.tenantNotFound(segment));
    const clientId = str(params, "client_id");
    if (!clientId) return showErrorPage(req, reply, AADSTS.missingParameter("client_id"));
    const appReg = state.apps.get(clientId);
    if (!appReg) return showErrorPage(req, reply, AADSTS.appNotFound(clientId, directoryName(authority)));
    if (
      appReg.signInAudience === "AzureADMyOrg" &&
      authority.tenant &&
      authority.tenant.id !== appReg.homeTenantId
    ) {
      return showErrorPage(req, reply, AADSTS.appNotFound(clientId, directoryName(authority)));
    }
    let redirectUri = str(params, "redirect_uri");
    if (redirectUri === undefined) {
      // The OIDC doc: without redirect_uri one registered URI is used.
      redirectUri = appReg.redirectUris[0];
      if (redirectUri === undefined) return showErrorPage(req, reply, AADSTS.noReplyAddress(), appReg.name);
    } else if (!redirectUriMatches(appReg.redirectUris, redirectUri)) {
      return showErrorPage(req, reply, AADSTS.redirectMismatch(redirectUri, clientId), appReg.name);
    }
    const responseModeRaw = str(params, "response_mode") ?? "query";
    const stateParam = str(params, "state");
    const early = { redirectUri, responseMode: "query" as const, state: stateParam };
    if (responseModeRaw !== "query" && responseModeRaw !== "fragment" && responseModeRaw !== "form_post") {
      return redirectError(req, reply, early, AADSTS.invalidResponseMode(responseModeRaw));
    }
    const target = { redirectUri, responseMode: responseModeRaw, state: stateParam } as const;

    if (!adminConsent) {
      const responseType = str(params, "response_type");
      if (!responseType) return redirectError(req, reply, target, AADSTS.missingParameter("response_type"));
      if (responseType !== "code") return redirectError(req, reply, target, AADSTS.unsupportedResponseType());
    }
    // App audience versus authority (reference §1.1, §1.9).
    if (
      appReg.signInAudience === "AzureADMyOrg" &&
      (authority.kind === "common" || authority.kind === "organizations")
    ) {
      return redirectError(req, reply, target, AADSTS.notMultiTenant(appReg.name, clientId));
    }
    if (
      (appReg.signInAudience === "AzureADMyOrg" || appReg.signInAudience === "AzureADMultipleOrgs") &&
      authority.kind === "consumers"
    ) {
      return redirectError(req, reply, target, AADSTS.entraOnlyApp(clientId));
    }
    if (
      appReg.signInAudience === "PersonalMicrosoftAccount" &&
      (authority.kind === "organizations" || authority.kind === "tenant")
    ) {
      return redirectError(req, reply, target, AADSTS.msaOnlyApp(clientId));
    }
    if (adminConsent && authority.kind === "common") {
      return redirectError(req, reply, target, AADSTS.adminConsentOnCommon(), { admin_consent: "True" });
    }

    const scopeRaw =
      str(params, "scope") ?? (adminConsent ? `https://graph.microsoft.com/.default` : undefined);
    if (!scopeRaw) return redirectError(req, reply, target, AADSTS.missingParameter("scope"));
    const parsed = parseScopes(scopeRaw);
    if (!parsed.ok) return redirectError(req, reply, target, AADSTS.invalidScope(parsed.invalid));
    const graph = requestedGraphScopes(parsed.scopes, appReg);

    const codeChallenge = str(params, "code_challenge");
    const methodRaw = str(params, "code_challenge_method");
    let codeChallengeMethod: "S256" | "plain" | undefined;
    if (codeChallenge !== undefined) {
      if (methodRaw === undefined || methodRaw === "plain") codeChallengeMethod = "plain";
      else if (methodRaw === "S256") codeChallengeMethod = "S256";
      else {
        return redirectError(req, reply, target, {
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
    pruneTransactions();
    runtime.transactions.set(tx.id, tx);
    return advance(req, reply, tx);
  }

  function pruneTransactions(): void {
    const cutoff = state.now() - TRANSACTION_LIFETIME_MS;
    for (const [id, tx] of runtime.transactions) if (tx.createdAt < cutoff) runtime.transactions.delete(id);
    const codeCutoff = state.now() - 2 * CODE_LIFETIME_MS;
    for (const [id, c] of runtime.codes) if (c.expiresAt < codeCutoff) runtime.codes.delete(id);
  }

  app.get<{ Params: { tenant: string } }>("/:tenant/oauth2/v2.0/authorize", (req, reply) =>
    startAuthorize(req, reply, req.query as Params, false),
  );
  app.post<{ Params: { tenant: string } }>("/:tenant/oauth2/v2.0/authorize", (req, reply) =>
    startAuthorize(req, reply, { ...(req.query as Params), ...(req.body as Params) }, false),
  );
  app.get<{ Params: { tenant: string } }>("/:tenant/v2.0/adminconsent", (req, reply) =>
    startAuthorize(req, reply, req.query as Params, true),
  );

  function lookupTx(
    req: FastifyRequest,
    reply: FastifyReply,
    ctx: string | undefined,
  ): SignInTransaction | undefined {
    const tx = ctx ? runtime.transactions.get(ctx) : undefined;
    if (!tx) {
      showErrorPage(req, reply, {
        code: 50196,
        error: "invalid_request",
        message:
          "Your sign-in session has expired or is not valid. Go back to the application and sign in again.",
      });
    }
    return tx;
  }

  // Form posts from the sign-in pages.
  app.post<{ Params: { tenant: string } }>("/:tenant/login", (req, reply) => {
    const body = (req.body ?? {}) as Params;
    const tx = lookupTx(req, reply, str(body, "ctx"));
    if (!tx) return reply;
    const step = str(body, "step");
    const action = str(body, "action") ?? "";
    const secondary = action === "Back" || action === "Cancel" || action === "No";

    if (step === "email") {
      if (secondary) return cancelToApp(req, reply, tx);
      const email = (str(body, "loginfmt") ?? "").trim();
      if (!email.includes("@")) {
        return showEmail(reply, tx, "Enter a valid email address, phone number, or Skype name.", email);
      }
      const user = state.userByEmail(email);
      if (!user) return showEmail(reply, tx, unknownAccountMessage(tx), email);
      const problem = audienceProblem(tx, user);
      if (problem) return showEmail(reply, tx, problem, email);
      tx.email = user.email;
      return showPassword(reply, tx, user.email);
    }

    if (step === "password") {
      // The account whose credentials are posted is the one that signs in, whatever was pre-filled.
      const email = str(body, "loginfmt")?.trim() || tx.email || "";
      if (secondary) {
        tx.email = undefined;
        return showEmail(reply, tx, undefined, email);
      }
      const user = state.userByEmail(email);
      if (!user) return showEmail(reply, tx, unknownAccountMessage(tx), email);
      const problem = audienceProblem(tx, user);
      if (problem) return showEmail(reply, tx, problem, email);
      tx.email = user.email;
      const password = str(body, "passwd") ?? "";
      if (!safeEqual(password, user.password))
        return showPassword(reply, tx, user.email, WRONG_PASSWORD_HTML);
      if (user.disabled) {
        countError(state, AADSTS.userDisabled());
        return showPassword(reply, tx, user.email, ACCOUNT_LOCKED_HTML);
      }
      signIn(req, reply, user);
      tx.userId = user.id;
      return afterAuthentication(req, reply, tx);
    }

    if (step === "picker") {
      if (secondary) return cancelToApp(req, reply, tx);
      const account = str(body, "account");
      const session = getSession(req);
      if (!account || account === "other" || !session?.userIds.includes(account)) {
        tx.prompt = tx.prompt === "select_account" ? undefined : tx.prompt;
        return showEmail(reply, tx);
      }
      const user = state.users.get(account);
      if (!user || user.disabled) return showEmail(reply, tx);
      const problem = audienceProblem(tx, user);
      if (problem) return showEmail(reply, tx, problem, user.email);
      tx.userId = user.id;
      return afterAuthentication(req, reply, tx);
    }

    if (step === "consent") {
      const user = tx.userId ? state.users.get(tx.userId) : undefined;
      const appReg = state.apps.get(tx.clientId);
      if (!user || !appReg) return showErrorPage(req, reply, AADSTS.malformed());
      if (secondary) {
        runtime.transactions.delete(tx.id);
        if (tx.adminConsent) {
          return redirectError(
            req,
            reply,
            tx,
            { ...AADSTS.consentDeclined(), error: "access_denied" },
            {
              admin_consent: "True",
            },
          );
        }
        if (isPersonal(user)) {
          const fields: Record<string, string> = {
            error: "access_denied",
            error_description: "The user has denied access to the scope requested by the client application.",
          };
          if (tx.state !== undefined) fields.state = tx.state;
          return redirectToApp(reply, tx, fields);
        }
        return redirectError(req, reply, tx, AADSTS.consentDeclined());
      }
      if (tx.adminConsent) {
        const tenant = state.tenants.get(user.tenantId);
        tenant?.adminConsentedApps.add(appReg.clientId);
        runtime.transactions.delete(tx.id);
        const fields: Record<string, string> = {
          admin_consent: "True",
          tenant: user.tenantId,
          scope: (tx.graph.length ? tx.graph : appReg.permissions)
            .map((s) => `https://graph.microsoft.com/${s}`)
            .join(" "),
        };
        if (tx.state !== undefined) fields.state = tx.state;
        return redirectToApp(reply, tx, fields);
      }
      const key = `${user.id}|${appReg.clientId}`;
      const existing = state.consents.get(key);
      const scopes = new Set<string>(existing && !existing.revoked ? existing.scopes : []);
      for (const s of requestedScopes(tx)) scopes.add(s);
      state.consents.set(key, {
        userId: user.id,
        clientId: appReg.clientId,
        scopes,
        grantedAt: state.now(),
        revoked: false,
      });
      if (str(body, "ConsentOnBehalf") === "true" && user.isTenantAdmin) {
        state.tenants.get(user.tenantId)?.adminConsentedApps.add(appReg.clientId);
      }
      return issueCode(reply, tx, user);
    }
    return showErrorPage(req, reply, AADSTS.malformed());
  });

  // "Return to the application without granting consent" on the admin-approval page.
  app.get<{ Params: { tenant: string } }>("/:tenant/oauth2/v2.0/return", (req, reply) => {
    const tx = lookupTx(req, reply, str(req.query as Params, "ctx"));
    if (!tx) return reply;
    runtime.transactions.delete(tx.id);
    const appReg = state.apps.get(tx.clientId);
    const extra: Record<string, string> = tx.adminConsent ? { admin_consent: "True" } : {};
    return redirectError(req, reply, tx, AADSTS.adminApprovalRequired(appReg?.name ?? tx.clientId), extra);
  });

  // "Have an admin account? Sign in with that account".
  app.get<{ Params: { tenant: string } }>("/:tenant/oauth2/v2.0/switch", (req, reply) => {
    const tx = lookupTx(req, reply, str(req.query as Params, "ctx"));
    if (!tx) return reply;
    tx.userId = undefined;
    tx.email = undefined;
    tx.loginHint = undefined;
    return showEmail(reply, tx);
  });

  // ---------- /token ----------

  app.get("/:tenant/oauth2/v2.0/token", (req, reply) => sendTokenError(req, reply, AADSTS.wrongVerb()));

  function sendTokenError(req: FastifyRequest, reply: FastifyReply, err: AadstsError): FastifyReply {
    countError(state, err);
    const ctx = errorContext(state, correlationOf(req));
    return tokenHeaders(reply)
      .code(tokenErrorStatus(err))
      .send(tokenErrorBody(state, err, ctx));
  }

  function tokenHeaders(reply: FastifyReply): FastifyReply {
    return reply
      .header("cache-control", "no-store, no-cache")
      .header("pragma", "no-cache")
      .header("content-type", "application/json; charset=utf-8")
      .header("x-ms-request-id", randomUUID())
      .header("x-ms-ests-server", "2.1.sandbox - SDX ProdSlices");
  }

  app.post<{ Params: { tenant: string } }>("/:tenant/oauth2/v2.0/token", async (req, reply) => {
    const authority = resolveAuthority(state, req.params.tenant);
    if (!authority) return sendTokenError(req, reply, AADSTS.tenantNotFound(req.params.tenant));
    const body = req.body;
    if (!body || typeof body !== "object") return sendTokenError(req, reply, AADSTS.malformed());
    const params = body as Params;

    // Client authentication: client_secret_post or client_secret_basic (reference §1.4).
    let clientId = str(params, "client_id");
    let secret = str(params, "client_secret");
    const authz = req.headers.authorization;
    if (authz?.toLowerCase().startsWith("basic ")) {
      const decoded = Buffer.from(authz.slice(6).trim(), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) return sendTokenError(req, reply, AADSTS.malformed("invalid_client"));
      const basicId = decodeURIComponent(decoded.slice(0, colon).replaceAll("+", " "));
      clientId ??= basicId;
      if (basicId !== clientId) return sendTokenError(req, reply, AADSTS.malformed("invalid_client"));
      secret ??= decodeURIComponent(decoded.slice(colon + 1).replaceAll("+", " "));
    }
    if (!clientId) return sendTokenError(req, reply, AADSTS.missingParameter("client_id"));
    const appReg = state.apps.get(clientId);
    if (!appReg) return sendTokenError(req, reply, AADSTS.appNotFound(clientId, directoryName(authority)));
    const grantType = str(params, "grant_type");
    if (!grantType) return sendTokenError(req, reply, AADSTS.missingParameter("grant_type"));
    if (grantType !== "authorization_code" && grantType !== "refresh_token") {
      return sendTokenError(req, reply, AADSTS.unsupportedGrantType(grantType));
    }
    if (secret === undefined) {
      if (str(params, "client_assertion") !== undefined)
        return sendTokenError(req, reply, AADSTS.assertionUnsupported());
      return sendTokenError(req, reply, AADSTS.missingCredential());
    }
    const matched = appReg.secrets.find((s) => safeEqual(s.value, secret));
    if (!matched) return sendTokenError(req, reply, AADSTS.invalidSecret(clientId));
    if (matched.expiresAt <= state.now()) return sendTokenError(req, reply, AADSTS.expiredSecret(clientId));

    const requestedScope = str(params, "scope");
    let requested: ReturnType<typeof parseScopes> | undefined;
    if (requestedScope !== undefined) {
      requested = parseScopes(requestedScope);
      if (!requested.ok) return sendTokenError(req, reply, AADSTS.invalidScope(requested.invalid));
    }

    if (grantType === "authorization_code") {
      const codeValue = str(params, "code");
      if (!codeValue) return sendTokenError(req, reply, AADSTS.missingParameter("code"));
      const code = runtime.codes.get(codeValue);
      if (!code) return sendTokenError(req, reply, AADSTS.malformed("invalid_grant"));
      if (code.clientId !== clientId) {
        return sendTokenError(req, reply, AADSTS.grantInvalid("The code was issued to a different client."));
      }
      if (code.redeemedAt !== null) return sendTokenError(req, reply, AADSTS.codeRedeemed());
      if (state.now() >= code.expiresAt) return sendTokenError(req, reply, AADSTS.expiredGrant());
      const redirectUri = str(params, "redirect_uri");
      if (redirectUri === undefined)
        return sendTokenError(req, reply, AADSTS.missingParameter("redirect_uri"));
      if (redirectUri !== code.redirectUri) {
        return sendTokenError(req, reply, AADSTS.replyAddressMismatch(redirectUri, code.redirectUri));
      }
      const user = state.users.get(code.userId);
      if (!user) return sendTokenError(req, reply, AADSTS.malformed("invalid_grant"));
      const redeemAuthority = authority;
      const sameTenant =
        redeemAuthority.kind === "common" ||
        req.params.tenant.toLowerCase() === code.tenantSegment.toLowerCase() ||
        (redeemAuthority.tenant?.id ?? (redeemAuthority.kind === "consumers" ? CONSUMERS_TENANT_ID : "")) ===
          user.tenantId;
      if (!sameTenant) return sendTokenError(req, reply, AADSTS.wrongTenant());
      if (code.codeChallenge !== undefined) {
        const verifier = str(params, "code_verifier");
        const computed =
          verifier === undefined
            ? undefined
            : code.codeChallengeMethod === "S256"
              ? createHash("sha256").update(verifier).digest("base64url")
              : verifier;
        if (computed === undefined || !safeEqual(computed, code.codeChallenge)) {
          return sendTokenError(req, reply, AADSTS.pkceMismatch());
        }
      }
      if (user.disabled) return sendTokenError(req, reply, AADSTS.userDisabled());
      code.redeemedAt = state.now();
      state.counters.tokenGrants += 1;
      const response = await mintTokenResponse(state, runtime, {
        user,
        app: appReg,
        oidc: code.oidc,
        graph: code.graph,
        nonce: code.nonce,
        includeClientInfo: str(params, "client_info") === "1",
        offline: code.oidc.has("offline_access"),
      });
      return tokenHeaders(reply).code(200).send(response);
    }

    // refresh_token grant
    const refreshValue = str(params, "refresh_token");
    if (!refreshValue) return sendTokenError(req, reply, AADSTS.missingParameter("refresh_token"));
    const rt = state.refreshTokens.get(refreshValue);
    if (!rt) return sendTokenError(req, reply, AADSTS.malformed("invalid_grant"));
    if (rt.clientId !== clientId) {
      return sendTokenError(
        req,
        reply,
        AADSTS.grantInvalid("The refresh token was issued to a different client."),
      );
    }
    const user = state.users.get(rt.userId);
    if (!user) return sendTokenError(req, reply, AADSTS.malformed("invalid_grant"));
    const now = state.now();
    if (rt.revoked || rt.issuedAt < user.passwordChangedAt) {
      const validFrom = Math.max(user.passwordChangedAt, rt.issuedAt);
      return sendTokenError(
        req,
        reply,
        AADSTS.freshTokenNeeded(new Date(rt.issuedAt).toISOString(), new Date(validFrom).toISOString()),
      );
    }
    if (now >= rt.expiresAt) {
      const lastUse = rt.usedAt ?? rt.issuedAt;
      return sendTokenError(
        req,
        reply,
        AADSTS.refreshInactive(new Date(rt.issuedAt).toISOString(), inactivity(now - lastUse)),
      );
    }
    if (user.disabled) return sendTokenError(req, reply, AADSTS.userDisabled());
    const granted = grantedScopes(user, appReg);
    const tokenGraph = rt.scopes.filter((s) => !(OIDC_SCOPES as readonly string[]).includes(s));
    const oidc = new Set(rt.scopes.filter((s) => (OIDC_SCOPES as readonly string[]).includes(s)));
    let graph = tokenGraph.filter((s) => granted.has(s));
    if (graph.length < tokenGraph.length || !granted.has("offline_access")) {
      return sendTokenError(req, reply, AADSTS.consentRequired(appReg.clientId, appReg.name));
    }
    if (requested?.ok) {
      const asked = requestedGraphScopes(requested.scopes, appReg);
      const notGranted = asked.filter((s) => !granted.has(s));
      if (notGranted.length > 0) {
        return sendTokenError(req, reply, AADSTS.consentRequired(appReg.clientId, appReg.name));
      }
      // The access token carries every scope granted for the resource (like Entra's `scp`).
      graph = [...new Set([...graph, ...asked])];
    }
    // Rotation: a new refresh token every time; the old one is not revoked (reference §1.6).
    rt.usedAt = now;
    state.counters.tokenRefreshes += 1;
    const response = await mintTokenResponse(state, runtime, {
      user,
      app: appReg,
      oidc,
      graph,
      includeClientInfo: str(params, "client_info") === "1",
      offline: true,
    });
    return tokenHeaders(reply).code(200).send(response);
  });

  function inactivity(ms: number): string {
    const days = Math.floor(ms / 86_400_000);
    const rest = ms % 86_400_000;
    const h = Math.floor(rest / 3_600_000);
    const m = Math.floor((rest % 3_600_000) / 60_000);
    const s = Math.floor((rest % 60_000) / 1000);
    const pad = (n: number) => String(n).padStart(2, "0");
    return `${days}.${pad(h)}:${pad(m)}:${pad(s)}`;
  }

  // ---------- logout ----------

  const logout = (req: FastifyRequest, reply: FastifyReply) => {
    const params = { ...(req.query as Params), ...((req.body as Params | undefined) ?? {}) };
    const session = getSession(req);
    const hint = str(params, "logout_hint");
    if (session) {
      if (hint) {
        const user = state.userByEmail(hint);
        session.userIds = session.userIds.filter((id) => id !== user?.id);
      } else {
        runtime.sessions.delete(session.id);
        reply.header("set-cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
      }
    }
    const post = str(params, "post_logout_redirect_uri");
    if (post) return reply.code(302).redirect(post);
    return html(reply, signedOutPage());
  };
  app.get("/:tenant/oauth2/v2.0/logout", logout);
  app.post("/:tenant/oauth2/v2.0/logout", logout);

  // ---------- discovery ----------

  app.get<{ Params: { tenant: string } }>("/:tenant/v2.0/.well-known/openid-configuration", (req, reply) => {
    const authority = resolveAuthority(state, req.params.tenant);
    if (!authority) return sendTokenError(req, reply, AADSTS.tenantNotFound(req.params.tenant));
    const seg = encodeURIComponent(req.params.tenant);
    const issuerTenant =
      authority.kind === "tenant"
        ? (authority.tenant?.id ?? "{tenantid}")
        : authority.kind === "consumers"
          ? CONSUMERS_TENANT_ID
          : "{tenantid}";
    const b = base();
    const doc = {
      token_endpoint: `${b}/${seg}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${b}/${seg}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: `${b}/${issuerTenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
      authorization_endpoint: `${b}/${seg}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${b}/${seg}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${b}/${seg}/oauth2/v2.0/logout`,
      claims_supported: [
        "sub",
        "iss",
        "cloud_instance_name",
        "cloud_instance_host_name",
        "cloud_graph_host_name",
        "msgraph_host",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "acr",
        "nonce",
        "preferred_username",
        "name",
        "tid",
        "ver",
        "at_hash",
        "c_hash",
        "email",
      ],
      kerberos_endpoint: `${b}/${seg}/kerberos`,
      tenant_region_scope: authority.kind === "tenant" ? "EU" : null,
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
      rbac_url: "https://pas.windows.net",
    };
    return reply
      .header("cache-control", "max-age=86400, private")
      .header("access-control-allow-origin", "*")
      .header("content-type", "application/json; charset=utf-8")
      .send(doc);
  });

  app.get<{ Params: { tenant: string } }>("/:tenant/discovery/v2.0/keys", (req, reply) => {
    const authority = resolveAuthority(state, req.params.tenant);
    if (!authority) return sendTokenError(req, reply, AADSTS.tenantNotFound(req.params.tenant));
    const jwk = runtime.key.publicJwk;
    const issuerTenant = authority.kind === "tenant" ? (authority.tenant?.id ?? "{tenantid}") : "{tenantid}";
    return reply
      .header("cache-control", "max-age=86400, private")
      .header("access-control-allow-origin", "*")
      .send({
        keys: [
          {
            kty: jwk.kty,
            use: "sig",
            kid: jwk.kid,
            x5t: jwk.kid,
            n: jwk.n,
            e: jwk.e,
            alg: "RS256",
            cloud_instance_name: "microsoftonline.com",
            issuer: `${base()}/${issuerTenant}/v2.0`,
          },
        ],
      });
  });

  // Instance discovery, as MSAL calls it (reference §1.1).
  app.get("/common/discovery/instance", (req, reply) => {
    const host = new URL(base()).host;
    const authorizeEndpoint = str(req.query as Params, "authorization_endpoint");
    let tenant = "common";
    if (authorizeEndpoint) {
      try {
        tenant = new URL(authorizeEndpoint).pathname.split("/")[1] || "common";
      } catch {}
    }
    return reply.header("access-control-allow-origin", "*").send({
      tenant_discovery_endpoint: `${base()}/${tenant}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  });

  // The error lookup page that `error_uri` points to.
  app.get("/error", (req, reply) => {
    const code = str(req.query as Params, "code") ?? "";
    return html(
      reply,
      errorCodePage(code, `AADSTS${code}: see the error_description of the response for details.`),
    );
  });
}
