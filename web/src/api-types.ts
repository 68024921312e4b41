// Types of the dashboard API (/dashboard/api/*), shared by the server routes (type-only imports) and
// the React app, so both sides change together. Times are epoch milliseconds.

export const DASHBOARD_API = "/dashboard/api";
/** Header that carries the session's CSRF token on every state-changing request. */
export const CSRF_HEADER = "x-mailroom-csrf";

export interface ApiError {
  status: number;
  type: string;
  title: string;
  detail?: string;
}

export interface AdminInfo {
  id: string;
  email: string;
  createdAt: number;
  lastSignInAt: number | null;
}

export interface SandboxUser {
  email: string;
  password: string;
  kind: string;
}

export interface SandboxInfo {
  url: string;
  users: SandboxUser[];
}

/** GET /session: who is signed in, and what the app needs before any page. */
export interface SessionResponse {
  admin: AdminInfo | null;
  /** Echo in the x-mailroom-csrf header on POST/PUT/DELETE; null before sign-in (send "1" then). */
  csrfToken: string | null;
  /** True on a fresh install: no admin exists yet, so the setup link printed at start-up is needed. */
  setupRequired: boolean;
  publicUrl: string;
  /** Only for a signed-in admin, when the Microsoft sandbox runs. */
  sandbox: SandboxInfo | null;
}

export interface SetupLinkInfo {
  kind: "setup" | "invite";
  email: string | null;
}

export interface SetupRequest {
  token: string;
  email: string;
  password: string;
}

export interface SignInRequest {
  email: string;
  password: string;
}

export interface AdminsResponse {
  admins: AdminInfo[];
  invites: { id: string; email: string | null; createdAt: number; expiresAt: number }[];
}

export interface InviteRequest {
  email?: string;
}

export interface InviteResponse {
  url: string;
  expiresAt: number | null;
}

export type CheckResult =
  | "valid"
  | "wrong_secret"
  | "expired_secret"
  | "unknown_app"
  | "single_tenant_app"
  | "unreachable"
  | "unknown_error";

export interface CredentialCheckInfo {
  result: CheckResult;
  checkedAt: number;
  message: string;
  fix: string | null;
  aadsts?: number;
}

export interface MicrosoftSettingsResponse {
  settings: {
    clientId: string;
    displayName: string | null;
    audience: string;
    secretExpiresAt: number | null;
    hasSecret: boolean;
    check: CredentialCheckInfo | null;
    appProblem: { code: string; message: string; at: number } | null;
    updatedAt: number;
  } | null;
  redirectUris: string[];
  /** Supported account types to choose in Azure. */
  audienceLabel: string;
  delegatedPermissions: string[];
  requestedScopes: string[];
  expiryWarning: { daysLeft: number; expiresAt: number } | null;
  publisher: {
    url: string;
    /** Exact body served at `url`, or null while no app is configured. */
    json: string | null;
  };
}

export interface MicrosoftSettingsRequest {
  clientId: string;
  /** Empty or absent keeps the stored secret. */
  clientSecret?: string;
  /** YYYY-MM-DD as Azure shows it; null clears it. */
  secretExpiresOn?: string | null;
  displayName?: string | null;
}

export interface PublisherCheckResponse {
  url: string;
  ok: boolean;
  /** One line per check, each passed or not, with what to do when not. */
  checks: { name: string; passed: boolean; detail: string }[];
}

export type AccountStatus = "OK" | "STOPPED" | "ERROR" | "CREDENTIALS" | "PERMISSIONS" | "CONNECTING";

export interface AccountItem {
  id: string;
  name: string;
  email: string;
  status: AccountStatus;
  statusReason: string | null;
  tenantId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface AccountsResponse {
  accounts: AccountItem[];
  /** True when more accounts matched than were returned. */
  truncated: boolean;
}

export interface AccountEvent {
  at: number;
  kind: string;
  detail: string;
}

export interface AccountDetailResponse {
  account: AccountItem & {
    lastRefreshedAt: number | null;
    accessTokenExpiresAt: number | null;
    refreshFailures: number | null;
    refreshRetryAt: number | null;
    scopes: string | null;
  };
  /**
   * Newest first: the account's events from the webhook event store when there are any, otherwise
   * built from what Mailroom stores (connection links, token state).
   */
  events: AccountEvent[];
  eventsSource: string;
}

export interface LinkRequest {
  name?: string;
}

export interface LinkResponse {
  url: string;
  expiresAt: number;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface ApiKeysResponse {
  keys: ApiKeyInfo[];
}

export interface CreateApiKeyRequest {
  name: string;
}

export interface CreateApiKeyResponse {
  /** Shown once: only its hash is stored. */
  key: string;
  summary: ApiKeyInfo;
}

export type WebhookSourceName = "email" | "account_status";
export type DeliveryStatus = "pending" | "delivered" | "failed";

/** The events each source can subscribe to (the first is the default of a new webhook). */
export const WEBHOOK_EVENTS: Record<WebhookSourceName, readonly string[]> = {
  email: ["mail_received", "mail_sent", "mail_moved"],
  account_status: [
    "ok",
    "credentials",
    "error",
    "stopped",
    "connecting",
    "creation_success",
    "creation_fail",
    "reconnected",
    "deleted",
    "sync_success",
    "permissions",
  ],
};

export interface DeliveryInfo {
  id: string;
  eventId: string;
  event: string;
  /** Made with "Send test event". */
  test: boolean;
  status: DeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  /** The start of the receiver's last answer (at most 500 characters). */
  responseExcerpt: string | null;
  error: string | null;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  createdAt: number;
}

/** A webhook as listed: never its secret. */
export interface WebhookInfo {
  id: string;
  name: string | null;
  url: string;
  source: WebhookSourceName;
  events: string[];
  enabled: boolean;
  /** Header names only: values may be credentials. */
  headerNames: string[];
  allAccounts: boolean;
  createdAt: number;
  lastDelivery: Pick<DeliveryInfo, "status" | "responseStatus" | "attempts" | "createdAt"> | null;
}

export interface WebhooksResponse {
  webhooks: WebhookInfo[];
}

export interface CreateWebhookRequest {
  url: string;
  source: WebhookSourceName;
  events: string[];
  name?: string;
  headers?: { key: string; value: string }[];
}

export interface CreateWebhookResponse {
  /** Shown once: sign-checking receivers need it, and the list never shows it. */
  secret: string;
  webhook: WebhookInfo;
}

export interface RotateSecretResponse {
  /** Shown once. */
  secret: string;
  /** Until then deliveries carry a second v1= signed with the previous secret. */
  previousSecretExpiresAt: number;
  graceHours: number;
}

export interface TestEventResponse {
  eventId: string;
  deliveryId: string;
}

export interface DeliveriesResponse {
  deliveries: DeliveryInfo[];
}

/** One delivery again (`deliveryId`), or every failed one created at or after `since`. */
export type ReplayRequest = { deliveryId: string } | { since: number };

export interface ReplayResponse {
  count: number;
}

export interface CallbackSigningResponse {
  /** Signs notify_url callbacks (X-Mailroom-Signature); revealed on request, never listed. */
  secret: string;
}
