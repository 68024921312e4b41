// Microsoft identity platform (Entra ID v2.0), as a client. Each protocol step is two functions:
// build/send the request, then validate the response, so parsing is testable without a network.
import { createHash, randomBytes } from "node:crypto";
import type { createRemoteJWKSet, JWTPayload } from "jose";
import { appProblem } from "./aadsts.ts";

export const GRAPH_SCOPES = ["Mail.ReadWrite", "Mail.Send", "Mail.Read", "User.Read"] as const;
/** Mailroom always asks for offline_access (no refresh token otherwise) and the OIDC scopes. */
export const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"] as const;
/**
 * What a signed-in user needs to open a shared mailbox through Graph (`/users/{mailbox}/…`): read and
 * write it, and send from it (learn.microsoft.com/graph/outlook-share-messages-folders,
 * /graph/outlook-send-mail-from-other-user). Asked for at sign-in when shared mailboxes are on.
 */
export const SHARED_MAILBOX_SCOPES = ["Mail.ReadWrite.Shared", "Mail.Send.Shared"] as const;
export const CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

export interface MicrosoftApp {
  clientId: string;
  clientSecret: string;
  /** `common` (default), `organizations`, `consumers` or a tenant id. */
  audience: string;
  extraScopes: string[];
  /** Sign-in also asks for SHARED_MAILBOX_SCOPES. */
  sharedMailboxes?: boolean;
}

export interface IdentityEndpoints {
  /** e.g. https://login.microsoftonline.com (no trailing slash) */
  loginUrl: string;
}

/**
 * The scopes of a sign-in, or of a refresh (`forRefresh`). A refresh never asks for the shared-mailbox
 * scopes: for an account that signed in before they were turned on, asking for a scope it never
 * consented to fails the refresh (AADSTS65001), and an account that consented keeps them anyway (the
 * access token carries every scope consented for Graph).
 */
export function requestedScopes(
  app: Pick<MicrosoftApp, "extraScopes" | "sharedMailboxes">,
  forRefresh = false,
): string[] {
  const shared = app.sharedMailboxes && !forRefresh ? SHARED_MAILBOX_SCOPES : [];
  const graph = [...GRAPH_SCOPES, ...shared, ...app.extraScopes].map((s) =>
    s.includes("://") ? s : `https://graph.microsoft.com/${s}`,
  );
  return [...OIDC_SCOPES, ...new Set(graph)];
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function newPkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export function authorizeUrl(
  endpoints: IdentityEndpoints,
  app: MicrosoftApp,
  params: {
    redirectUri: string;
    state: string;
    nonce: string;
    codeChallenge: string;
    loginHint?: string | undefined;
  },
): string {
  const url = new URL(`${endpoints.loginUrl}/${encodeURIComponent(app.audience)}/oauth2/v2.0/authorize`);
  url.searchParams.set("client_id", app.clientId);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("redirect_uri", params.redirectUri);
  url.searchParams.set("response_mode", "query");
  url.searchParams.set("scope", requestedScopes(app).join(" "));
  url.searchParams.set("state", params.state);
  url.searchParams.set("nonce", params.nonce);
  url.searchParams.set("code_challenge", params.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("client_info", "1");
  // select_account lets a user connect a second mailbox; login_hint cannot be combined with it.
  if (params.loginHint) url.searchParams.set("login_hint", params.loginHint);
  else url.searchParams.set("prompt", "select_account");
  return url.toString();
}

export function adminConsentUrl(
  endpoints: IdentityEndpoints,
  app: Pick<MicrosoftApp, "clientId" | "extraScopes">,
  params: { tenant?: string | undefined; redirectUri: string; state?: string },
): string {
  // `common` is not accepted here; `organizations` lets the admin's own tenant be resolved.
  const tenant = params.tenant && params.tenant !== CONSUMERS_TENANT_ID ? params.tenant : "organizations";
  const url = new URL(`${endpoints.loginUrl}/${encodeURIComponent(tenant)}/v2.0/adminconsent`);
  url.searchParams.set("client_id", app.clientId);
  url.searchParams.set(
    "scope",
    requestedScopes(app)
      .filter((s) => s.includes("://"))
      .join(" "),
  );
  url.searchParams.set("redirect_uri", params.redirectUri);
  if (params.state) url.searchParams.set("state", params.state);
  return url.toString();
}

/** What Microsoft's token endpoint returned, classified by its AADSTS number (never by text). */
export class IdentityError extends Error {
  constructor(
    readonly kind: IdentityErrorKind,
    message: string,
    readonly details: { error?: string; aadsts?: number; status?: number; suberror?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "IdentityError";
  }
}

export type IdentityErrorKind =
  /** The mailbox must sign in again (invalid_grant family). */
  | "reauth_required"
  /** The operator's app registration or secret is wrong: affects every account. */
  | "app_misconfigured"
  /** A one-time step of the connect flow failed (code reused, PKCE mismatch). */
  | "flow_failed"
  /** Network failure, timeout or 5xx: retry later. */
  | "unavailable"
  | "invalid_response";

export { type AppProblem, appProblem, type ReauthReason, reauthReason } from "./aadsts.ts";

export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  expiresAt: number;
  scopes: string[];
}

export interface TokenErrorBody {
  error?: string;
  error_description?: string;
  error_codes?: number[];
  suberror?: string;
}

export function parseTokenResponse(status: number, body: unknown, now: number): TokenSet {
  const b = (body ?? {}) as Record<string, unknown> & TokenErrorBody;
  if (status >= 200 && status < 300) {
    if (typeof b.access_token !== "string" || typeof b.expires_in !== "number") {
      throw new IdentityError(
        "invalid_response",
        "Microsoft's token response lacks access_token or expires_in",
        { status },
      );
    }
    return {
      accessToken: b.access_token,
      refreshToken: typeof b.refresh_token === "string" ? b.refresh_token : undefined,
      idToken: typeof b.id_token === "string" ? b.id_token : undefined,
      expiresAt: now + b.expires_in * 1000,
      scopes:
        typeof b.scope === "string"
          ? b.scope
              .split(" ")
              .filter(Boolean)
              .map((s) => s.replace(/^https:\/\/graph\.microsoft\.com\//i, ""))
          : [],
    };
  }
  throw tokenError(status, b);
}

export function tokenError(status: number, body: TokenErrorBody): IdentityError {
  const aadsts = Array.isArray(body.error_codes) ? body.error_codes[0] : undefined;
  const details = {
    status,
    ...(body.error ? { error: body.error } : {}),
    ...(aadsts ? { aadsts } : {}),
    ...(body.suberror ? { suberror: body.suberror } : {}),
  };
  // The first line of the description is Microsoft's sentence; trace ids follow and are noise here.
  const text = (body.error_description ?? body.error ?? `HTTP ${status}`).split(/\r?\n/)[0] ?? "";
  if (status >= 500 || status === 429) return new IdentityError("unavailable", text, details);
  if (appProblem(aadsts) || body.error === "invalid_client" || body.error === "unauthorized_client") {
    return new IdentityError("app_misconfigured", text, details);
  }
  if (aadsts === 54005 || aadsts === 501481 || aadsts === 700005 || aadsts === 70000 || aadsts === 9002313) {
    return new IdentityError("flow_failed", text, details);
  }
  if (
    body.error === "invalid_grant" ||
    body.error === "interaction_required" ||
    body.error === "consent_required"
  ) {
    return new IdentityError("reauth_required", text, details);
  }
  return new IdentityError("flow_failed", text, details);
}

export interface TokenClientOptions {
  endpoints: IdentityEndpoints;
  fetch?: typeof fetch;
  timeoutMs?: number;
  now?: () => number;
}

/** Sends token requests; validation lives in `parseTokenResponse`. */
export class TokenClient {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: TokenClientOptions) {
    this.fetch = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  tokenUrl(tenant: string): string {
    return `${this.options.endpoints.loginUrl}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
  }

  async redeemCode(
    app: MicrosoftApp,
    params: { code: string; redirectUri: string; codeVerifier: string },
  ): Promise<TokenSet> {
    return this.post(app.audience, {
      client_id: app.clientId,
      client_secret: app.clientSecret,
      grant_type: "authorization_code",
      code: params.code,
      redirect_uri: params.redirectUri,
      code_verifier: params.codeVerifier,
      scope: requestedScopes(app).join(" "),
    });
  }

  async refresh(app: MicrosoftApp, refreshToken: string): Promise<TokenSet> {
    return this.post(app.audience, {
      client_id: app.clientId,
      client_secret: app.clientSecret,
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      scope: requestedScopes(app, true).join(" "),
    });
  }

  private async post(tenant: string, form: Record<string, string>): Promise<TokenSet> {
    let response: Response;
    try {
      response = await this.fetch(this.tokenUrl(tenant), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (cause) {
      throw new IdentityError(
        "unavailable",
        `Microsoft's token endpoint is unreachable: ${(cause as Error).message}`,
        {},
        { cause },
      );
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (cause) {
      throw new IdentityError(
        response.status >= 500 ? "unavailable" : "invalid_response",
        `token endpoint answered HTTP ${response.status} without JSON`,
        { status: response.status },
        { cause },
      );
    }
    return parseTokenResponse(response.status, body, this.now());
  }
}

export interface IdTokenClaims extends JWTPayload {
  tid: string;
  oid?: string;
  sub: string;
  preferred_username?: string;
  email?: string;
  name?: string;
  nonce?: string;
}

let jose: Promise<typeof import("jose")> | undefined;
const loadJose = () => {
  jose ??= import("jose");
  return jose;
};

/**
 * Validates an id_token for a multitenant app: signature from the JWKS, `aud` = client id, `iss` =
 * the issuer template with `{tenantid}` replaced by the token's own `tid`, nonce, and time claims.
 */
export class IdTokenValidator {
  /** Fetched keys are kept (and refreshed on an unknown `kid`) by jose's remote key set. */
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    private readonly endpoints: IdentityEndpoints,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }
  private readonly now: () => number;

  /** `nonce` is checked when given; id_tokens from a refresh grant carry none. */
  async validate(
    idToken: string,
    expected: { clientId: string; nonce?: string | undefined },
  ): Promise<IdTokenClaims> {
    // jose is loaded by the first sign-in, not by every start-up.
    const { createRemoteJWKSet, errors: joseErrors, jwtVerify } = await loadJose();
    this.jwks ??= createRemoteJWKSet(new URL(`${this.endpoints.loginUrl}/common/discovery/v2.0/keys`), {
      timeoutDuration: 10_000,
    });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.jwks, {
        audience: expected.clientId,
        algorithms: ["RS256"],
        currentDate: new Date(this.now()),
        clockTolerance: 300,
      }));
    } catch (cause) {
      if (cause instanceof joseErrors.JOSEError && cause.code === "ERR_JWKS_TIMEOUT") {
        throw new IdentityError(
          "unavailable",
          "Microsoft's signing keys could not be fetched",
          {},
          { cause },
        );
      }
      throw new IdentityError(
        "invalid_response",
        `id_token rejected: ${(cause as Error).message}`,
        {},
        { cause },
      );
    }
    const claims = payload as IdTokenClaims;
    if (typeof claims.tid !== "string")
      throw new IdentityError("invalid_response", "id_token has no tid", {});
    if (claims.iss !== `${this.endpoints.loginUrl}/${claims.tid}/v2.0`) {
      throw new IdentityError(
        "invalid_response",
        `id_token issuer ${claims.iss} does not match its tenant ${claims.tid}`,
        {},
      );
    }
    if (claims.nonce !== expected.nonce)
      throw new IdentityError("invalid_response", "id_token nonce does not match", {});
    return claims;
  }
}
