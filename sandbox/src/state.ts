// The sandbox's in-memory world: tenants, users, app registrations, consents, tokens and mailboxes.
// Every module of the sandbox reads and writes this one object; nothing here knows about HTTP.
import { EventEmitter } from "node:events";

/** Microsoft's fixed tenant id for personal Microsoft accounts (MSA). */
export const CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

export type SignInAudience =
  | "AzureADMyOrg"
  | "AzureADMultipleOrgs"
  | "AzureADandPersonalMicrosoftAccount"
  | "PersonalMicrosoftAccount";

export interface Tenant {
  id: string; // GUID
  displayName: string;
  domain: string; // e.g. contoso.onmicrosoft.com
  /** Users may not consent to apps themselves: an admin must (AADSTS65001 / "Need admin approval"). */
  requiresAdminConsent: boolean;
  /** Apps an admin consented to for the whole tenant (client ids). */
  adminConsentedApps: Set<string>;
}

/** `shared`: an Exchange shared mailbox (sales@, support@): it has a mailbox, and its account cannot sign in. */
export type UserKind = "work" | "personal" | "no_mailbox" | "admin" | "shared";

/** Exchange mailbox permissions a user can hold on another mailbox (Add-MailboxPermission, Add-RecipientPermission). */
export type MailboxRight = "FullAccess" | "SendAs";

export interface SandboxUser {
  id: string; // oid / Graph user id (GUID)
  tenantId: string;
  email: string; // userPrincipalName / preferred_username
  password: string;
  displayName: string;
  givenName: string;
  surname: string;
  kind: UserKind;
  hasMailbox: boolean;
  isTenantAdmin: boolean;
  /** Bumped by "change password": refresh tokens issued before it fail with AADSTS50173. */
  passwordChangedAt: number;
  disabled: boolean;
}

export interface AppSecret {
  id: string;
  value: string;
  hint: string; // first 3 chars, as Azure shows
  expiresAt: number; // epoch ms
}

export interface AppRegistration {
  clientId: string;
  name: string;
  redirectUris: string[];
  signInAudience: SignInAudience;
  /** Delegated Graph permissions configured on the app, e.g. ["Mail.ReadWrite","Mail.Send","Mail.Read","User.Read"]. */
  permissions: string[];
  secrets: AppSecret[];
  homeTenantId: string;
  createdAt: number;
}

/** A user's consent to an app: the scopes granted. Remembered per user+app. */
export interface Consent {
  userId: string;
  clientId: string;
  scopes: Set<string>;
  grantedAt: number;
  revoked: boolean;
}

export interface AccessTokenRecord {
  token: string;
  userId: string;
  clientId: string;
  scopes: string[]; // Graph scopes in short form: "Mail.Read", "User.Read", ...
  expiresAt: number; // epoch ms
  revoked: boolean;
}

export interface RefreshTokenRecord {
  token: string;
  userId: string;
  clientId: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  /** Set when the token was redeemed (rotation) or revoked. */
  usedAt: number | null;
  revoked: boolean;
}

/** Per-user or per-app switches that tests flip through /_sandbox/scenarios. */
export interface FaultSwitches {
  /** Next N Graph calls answer 429 with this Retry-After (seconds; may be fractional). */
  throttleNext?: { count: number; retryAfterSeconds: number };
  /** Next N Graph calls answer this 5xx status. */
  failNext?: { count: number; status: 500 | 502 | 503 | 504 };
  /** Added latency for every Graph call, ms (lets tests observe concurrency). */
  latencyMs?: number;
  /**
   * A send (`/send`, `sendMail`, `reply`, `forward`) is carried out on arrival and answered this many ms
   * later: the mail is out before the client hears so (a client that dies meanwhile never learns it).
   */
  sendAnswerDelayMs?: number;
}

/** Events emitted on `state.events` so the subscription engine can notify without coupling to the mail module. */
export interface MailChangeEvent {
  userId: string;
  changeType: "created" | "updated" | "deleted";
  messageId: string; // the message's immutable id
  /**
   * The message's REST id the change refers to (the old one for a move-out or delete). Change
   * notifications carry it unless the subscription was created with `Prefer: IdType="ImmutableId"`
   * (reference §3.7). Absent → `messageId` is used.
   */
  restId?: string;
  folderId: string;
  at: number;
}

export interface Counters {
  requests: Map<string, number>; // key `${clientId}|${userId}` → Graph requests served
  inFlight: Map<string, number>;
  peakConcurrency: Map<string, number>;
  throttled: Map<string, number>;
  tokenGrants: number; // authorization_code grants redeemed
  tokenRefreshes: number; // refresh_token grants redeemed
  tokenErrors: Map<string, number>; // AADSTS code → count
}

export interface SandboxOptions {
  /** Public base URL of the sandbox origin, e.g. http://localhost:3001 (issuer/authorize URLs use it). */
  baseUrl: string;
  now?: () => number;
  /** Allow http notification URLs for subscriptions (Microsoft requires https). */
  allowHttpNotifications?: boolean;
  /** Number of corpus messages to seed per mailbox (default ~300 for the first work user). */
  corpusSize?: number;
  /** Skip the corpus (tests that want empty mailboxes). */
  seedCorpus?: boolean;
  /** Change-notification timings; Microsoft's values by default (tests shorten them). */
  subscriptions?: SubscriptionTimings;
}

export interface SubscriptionTimings {
  /** Validation handshake deadline (Microsoft: 10 s). */
  validationTimeoutMs?: number;
  /** Time a receiver has to answer a notification with 2xx (Microsoft: 3 s). */
  notificationTimeoutMs?: number;
  /** First retry delay, doubled on each further attempt (sandbox default 1 s). */
  retryBaseMs?: number;
  /** Stop retrying a notification after this long (Microsoft: 4 h; sandbox default 3 min). */
  retryWindowMs?: number;
  /** Changes within this window are delivered together in one POST (default 150 ms). */
  batchWindowMs?: number;
  /** How often expiry and reauthorization are checked (default 1 s). */
  sweepIntervalMs?: number;
  /** reauthorizationRequired is sent this long before a subscription expires (default 15 min). */
  reauthorizationLeadMs?: number;
}

export class SandboxState {
  readonly tenants = new Map<string, Tenant>();
  readonly users = new Map<string, SandboxUser>(); // by id
  readonly apps = new Map<string, AppRegistration>(); // by clientId
  readonly consents = new Map<string, Consent>(); // key `${userId}|${clientId}`
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly userFaults = new Map<string, FaultSwitches>(); // by userId
  readonly appFaults = new Map<string, FaultSwitches>(); // by clientId
  /** Switches for one user through one app, key `${clientId}|${userId}` (as in `counters`). */
  readonly pairFaults = new Map<string, FaultSwitches>();
  /** Rights on a mailbox held by other users: mailbox user id → delegate user id → rights. */
  readonly mailboxPermissions = new Map<string, Map<string, Set<MailboxRight>>>();
  readonly events = new EventEmitter();
  readonly counters: Counters = {
    requests: new Map(),
    inFlight: new Map(),
    peakConcurrency: new Map(),
    throttled: new Map(),
    tokenGrants: 0,
    tokenRefreshes: 0,
    tokenErrors: new Map(),
  };
  readonly now: () => number;
  /**
   * Set by the Graph module: resolves a folder id or well-known name ("inbox") of a user's
   * mailbox to the folder id used in "mail-change" events. Subscriptions on
   * `mailFolders('inbox')/messages` need it to match events to folders.
   */
  resolveMailFolderId: ((userId: string, idOrWellKnownName: string) => string | undefined) | null = null;

  constructor(readonly options: SandboxOptions) {
    this.now = options.now ?? Date.now;
    this.events.setMaxListeners(100);
  }

  userByEmail(email: string): SandboxUser | undefined {
    const needle = email.trim().toLowerCase();
    for (const user of this.users.values()) if (user.email.toLowerCase() === needle) return user;
    return undefined;
  }

  /** Whether `delegateId` holds `right` on the mailbox of `mailboxId` (the owner holds every right). */
  hasMailboxRight(mailboxId: string, delegateId: string, right: MailboxRight): boolean {
    if (mailboxId === delegateId) return true;
    return this.mailboxPermissions.get(mailboxId)?.get(delegateId)?.has(right) ?? false;
  }

  emitMailChange(event: Omit<MailChangeEvent, "at">): void {
    this.events.emit("mail-change", { ...event, at: this.now() } satisfies MailChangeEvent);
  }
}
