// Entra ID (AADSTS) errors in the three shapes Microsoft uses: token-endpoint JSON, a redirect
// to the app, and its own "Sorry, but we're having trouble signing you in" page (reference §1.3, §1.9).
import { randomUUID } from "node:crypto";
import type { SandboxState } from "../state.ts";

export type OAuthErrorName =
  | "invalid_request"
  | "invalid_grant"
  | "invalid_client"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "access_denied"
  | "consent_required"
  | "interaction_required"
  | "login_required"
  | "temporarily_unavailable"
  | "server_error";

export interface AadstsError {
  code: number;
  error: OAuthErrorName;
  /** Text after "AADSTSnnnnn: ". */
  message: string;
  suberror?: string;
}

/** Codes the sandbox emits, with Microsoft's wording. Functions take the variable parts. */
export const AADSTS = {
  tenantNotFound: (tenant: string): AadstsError => ({
    code: 90002,
    error: "invalid_request",
    message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  }),
  missingParameter: (name: string): AadstsError => ({
    code: 900144,
    error: "invalid_request",
    message: `The request body must contain the following parameter: '${name}'.`,
  }),
  wrongVerb: (): AadstsError => ({
    code: 900561,
    error: "invalid_request",
    message: "The endpoint only accepts POST requests. Received a GET request.",
  }),
  malformed: (error: OAuthErrorName = "invalid_request"): AadstsError => ({
    code: 9002313,
    error,
    message: "Invalid request. Request is malformed or invalid.",
  }),
  appNotFound: (clientId: string, directory: string): AadstsError => ({
    code: 700016,
    error: "unauthorized_client",
    message: `Application with identifier '${clientId}' was not found in the directory '${directory}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  redirectMismatch: (redirectUri: string, clientId: string): AadstsError => ({
    code: 50011,
    error: "invalid_request",
    message: `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
  }),
  noReplyAddress: (): AadstsError => ({
    code: 900971,
    error: "invalid_request",
    message: "No reply address provided.",
  }),
  unsupportedResponseType: (): AadstsError => ({
    code: 700054,
    error: "unsupported_response_type",
    message: "response_type 'id_token' is not enabled for the application.",
  }),
  invalidResponseMode: (mode: string): AadstsError => ({
    code: 900144,
    error: "invalid_request",
    message: `The provided value for the input parameter 'response_mode' is not valid. The following response_modes are supported: 'query', 'fragment', 'form_post'. Received: '${mode}'.`,
  }),
  notMultiTenant: (appName: string, clientId: string): AadstsError => ({
    code: 50194,
    error: "invalid_request",
    message: `Application '${clientId}'(${appName}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.`,
  }),
  entraOnlyApp: (clientId: string): AadstsError => ({
    code: 9002332,
    error: "invalid_request",
    message: `Application '${clientId}'(${clientId}) is configured for use by Azure Active Directory users only. Please do not use the /consumers endpoint to serve this request.`,
  }),
  msaOnlyApp: (clientId: string): AadstsError => ({
    code: 9002331,
    error: "invalid_request",
    message: `Application '${clientId}'(${clientId}) is configured for use by Microsoft Account users only. Please use the /consumers endpoint to serve this request.`,
  }),
  userNotInTenant: (email: string, idp: string, tenantName: string): AadstsError => ({
    code: 50020,
    error: "access_denied",
    message: `User account '${email}' from identity provider '${idp}' does not exist in tenant '${tenantName}' and cannot access the application in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.`,
  }),
  loginRequired: (): AadstsError => ({
    code: 50058,
    error: "login_required",
    message:
      "A silent sign-in request was sent but no user is signed in. The cookies used to represent the user's session were not sent in the request to Microsoft Entra ID.",
  }),
  selectAccount: (): AadstsError => ({
    code: 16000,
    error: "interaction_required",
    message:
      "SelectUserAccount - This is an interrupt thrown by Microsoft Entra ID, which results in UI that allows the user to select from among multiple valid SSO sessions.",
  }),
  consentDeclined: (): AadstsError => ({
    code: 65004,
    error: "consent_required",
    message: "User declined to consent to access the app.",
  }),
  adminApprovalRequired: (appName: string): AadstsError => ({
    code: 90094,
    error: "access_denied",
    message: `The grant requires admin permission. ${appName} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.`,
  }),
  consentRequired: (clientId: string, appName: string): AadstsError => ({
    code: 65001,
    error: "invalid_grant",
    message: `The user or administrator has not consented to use the application with ID '${clientId}' named '${appName}'. Send an interactive authorization request for this user and resource.`,
    suberror: "consent_required",
  }),
  codeRedeemed: (): AadstsError => ({
    code: 54005,
    error: "invalid_grant",
    message:
      "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
  }),
  expiredGrant: (): AadstsError => ({
    code: 70008,
    error: "invalid_grant",
    message:
      "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
  }),
  refreshInactive: (issuedAt: string, inactive: string): AadstsError => ({
    code: 700082,
    error: "invalid_grant",
    message: `The refresh token has expired due to inactivity. The token was issued on ${issuedAt} and was inactive for ${inactive}.`,
  }),
  freshTokenNeeded: (issued: string, validFrom: string): AadstsError => ({
    code: 50173,
    error: "invalid_grant",
    message: `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${validFrom}'.`,
  }),
  grantInvalid: (detail: string): AadstsError => ({
    code: 70000,
    error: "invalid_grant",
    message: `The request was denied because one or more grants included in the request are invalid. ${detail}`,
  }),
  replyAddressMismatch: (sent: string, original: string): AadstsError => ({
    code: 500112,
    error: "invalid_grant",
    message: `The reply address '${sent}' does not match the reply address '${original}' provided when requesting Authorization code.`,
  }),
  pkceMismatch: (): AadstsError => ({
    code: 501481,
    error: "invalid_grant",
    message: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
  }),
  wrongTenant: (): AadstsError => ({
    code: 700005,
    error: "invalid_grant",
    message: "Provided Authorization Code is intended to use against other tenant, thus rejected.",
  }),
  userDisabled: (): AadstsError => ({
    code: 50057,
    error: "invalid_grant",
    message: "The user account is disabled.",
  }),
  invalidSecret: (clientId: string): AadstsError => ({
    code: 7000215,
    error: "invalid_client",
    message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  expiredSecret: (clientId: string): AadstsError => ({
    code: 7000222,
    error: "invalid_client",
    message: `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  }),
  missingCredential: (): AadstsError => ({
    code: 7000218,
    error: "invalid_client",
    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  assertionUnsupported: (): AadstsError => ({
    code: 700027,
    error: "invalid_client",
    message: "Client assertion failed signature validation.",
  }),
  unsupportedGrantType: (grantType: string): AadstsError => ({
    code: 70003,
    error: "unsupported_grant_type",
    message: `The app requested an unsupported grant type '${grantType}'.`,
  }),
  invalidScope: (scope: string): AadstsError => ({
    code: 70011,
    error: "invalid_scope",
    message: `The provided value for the input parameter 'scope' is not valid. The scope '${scope}' is not valid.`,
  }),
  adminConsentOnCommon: (): AadstsError => ({
    code: 90130,
    error: "invalid_request",
    message:
      "Application does not support the admin consent endpoint on the /common tenant. Use a tenant-specific endpoint or /organizations.",
  }),
  adminConsentNotAdmin: (): AadstsError => ({
    code: 90093,
    error: "access_denied",
    message:
      "Graph returned Forbidden (403). The signed in user is not an administrator and cannot grant consent on behalf of the organization.",
  }),
} as const;

/** "2022-10-10 13:10:01Z", the format of Entra's `timestamp` field. */
export function entraTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}Z`;
}

export interface ErrorContext {
  traceId: string;
  correlationId: string;
  timestamp: string;
}

export function errorContext(state: SandboxState, correlationId?: string): ErrorContext {
  const corr = correlationId && /^[0-9a-f-]{36}$/i.test(correlationId) ? correlationId : randomUUID();
  return { traceId: randomUUID(), correlationId: corr, timestamp: entraTimestamp(state.now()) };
}

export function countError(state: SandboxState, err: AadstsError): void {
  const key = `AADSTS${err.code}`;
  state.counters.tokenErrors.set(key, (state.counters.tokenErrors.get(key) ?? 0) + 1);
}

export function describe(err: AadstsError, ctx: ErrorContext): string {
  return `AADSTS${err.code}: ${err.message}\r\nTrace ID: ${ctx.traceId}\r\nCorrelation ID: ${ctx.correlationId}\r\nTimestamp: ${ctx.timestamp}`;
}

export function errorUri(state: SandboxState, code: number): string {
  return `${state.options.baseUrl}/error?code=${code}`;
}

/** The token endpoint's JSON body (reference §1.9). */
export function tokenErrorBody(
  state: SandboxState,
  err: AadstsError,
  ctx: ErrorContext,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    error: err.error,
    error_description: describe(err, ctx),
    error_codes: [err.code],
    timestamp: ctx.timestamp,
    trace_id: ctx.traceId,
    correlation_id: ctx.correlationId,
    error_uri: errorUri(state, err.code),
  };
  if (err.suberror) body.suberror = err.suberror;
  return body;
}

export function tokenErrorStatus(err: AadstsError): number {
  return err.error === "invalid_client" ? 401 : 400;
}
