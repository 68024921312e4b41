// The hosted connect wizard's logic: links, the OAuth attempt, the callback, and the account it yields.
// HTTP renders outcomes; this module decides them.
import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { hashToken } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { Logger } from "../../lib/logger.ts";
import type { DestinationGuard } from "../../outbound/destination.ts";
import {
  adminConsentUrl,
  appProblem,
  authorizeUrl,
  IdentityError,
  type IdTokenValidator,
  newPkce,
  type TokenClient,
  type TokenSet,
} from "../../providers/microsoft/identity.ts";
import { GraphCallError } from "../../providers/microsoft/me.ts";
import type { AccountRepository, AccountRow } from "../../storage/repositories/account.repository.ts";
import type {
  HostedAuthRepository,
  HostedLinkRow,
} from "../../storage/repositories/hosted-auth.repository.ts";
import type { AccountEvents } from "../accounts/account-events.ts";
import { type MailboxIdentity, saveConnectedMailbox } from "../accounts/connected-mailbox.ts";
import { identifyMailbox } from "../accounts/identify-mailbox.ts";
import type { MicrosoftSettingsService } from "../settings/microsoft-settings.service.ts";

/** Machine-readable reasons sent to `failure_redirect_url` as `reason`. */
export type FailureReason =
  | "expired_link"
  | "used_link"
  | "user_cancelled"
  | "consent_declined"
  | "admin_consent_required"
  | "wrong_account"
  | "no_mailbox"
  | "wrong_tenant"
  | "app_misconfigured"
  | "invalid_state"
  | "provider_error";

export interface LinkInput {
  type: "create" | "reconnect";
  providers: string | string[];
  expiresOn: string;
  reconnectAccount?: string | undefined;
  name?: string | undefined;
  notifyUrl?: string | undefined;
  successRedirectUrl?: string | undefined;
  failureRedirectUrl?: string | undefined;
  bypassSuccessScreen?: boolean | undefined;
}

export type CallbackOutcome =
  | { kind: "success"; link: HostedLinkRow; account: AccountRow; status: "CREATION_SUCCESS" | "RECONNECTED" }
  | {
      kind: "failure";
      reason: FailureReason;
      link: HostedLinkRow | undefined;
      accountId?: string | undefined;
      /** For the end user. */
      message: string;
      /** Tenant admin-consent URL when an admin must approve the app. */
      adminConsentUrl?: string | undefined;
    };

const ATTEMPT_TTL_MS = 30 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;
/** Date.parse also takes "March 7" or "2030"; a link's expiry is an ISO 8601 date(-time) only. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export interface HostedAuthDeps {
  repo: HostedAuthRepository;
  accounts: AccountRepository;
  settings: MicrosoftSettingsService;
  tokens: TokenClient;
  idTokens: IdTokenValidator;
  secrets: SecretBox;
  events: AccountEvents;
  clock: Clock;
  log: Logger;
  /** Checks notify_url and the redirect URLs when a link is created. */
  destinations: DestinationGuard;
  publicUrl: string;
  loginUrl: string;
  graphUrl: string;
  /** The operator's cap on a link's lifetime (HOSTED_LINK_MAX_DAYS); Unipile sets none. */
  linkMaxDays?: number | undefined;
  fetch?: typeof fetch;
}

export function callbackPath(): string {
  return "/api/v1/hosted/microsoft_auth_request_callback";
}

export class HostedAuthService {
  constructor(private readonly d: HostedAuthDeps) {}

  get redirectUri(): string {
    return `${this.d.publicUrl}${callbackPath()}`;
  }

  /** Both URIs to register in Azure (Unipile also uses the port-less variant). */
  redirectUris(): string[] {
    // The second form drops the port from the host and names it in the path, for deployments
    // whose public host cannot carry a port (Unipile documents both).
    const url = new URL(this.d.publicUrl);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return [this.redirectUri, `${url.protocol}//${url.hostname}${callbackPath()}/port${port}`];
  }

  async createLink(input: LinkInput): Promise<{ url: string; id: string; expiresAt: number }> {
    const providers = Array.isArray(input.providers) ? input.providers : [input.providers];
    const ok = providers.some((p) => p === "*" || p === "*:MAILING" || p === "OUTLOOK");
    if (!ok) {
      throw new AppError("invalid_parameters", {
        detail: `providers: Mailroom connects Microsoft accounts only; use "*", "*:MAILING" or ["OUTLOOK"] (got ${JSON.stringify(input.providers)})`,
      });
    }
    const expiresAt = ISO_DATE_TIME.test(input.expiresOn) ? Date.parse(input.expiresOn) : Number.NaN;
    const now = this.d.clock.now();
    if (Number.isNaN(expiresAt))
      throw new AppError("invalid_parameters", { detail: "expiresOn: must be an ISO 8601 date-time" });
    if (expiresAt <= now)
      throw new AppError("invalid_parameters", { detail: "expiresOn: must be in the future" });
    const maxDays = this.d.linkMaxDays;
    if (maxDays !== undefined && expiresAt - now > maxDays * DAY_MS)
      throw new AppError("invalid_parameters", {
        detail: `expiresOn: at most ${maxDays} days ahead (HOSTED_LINK_MAX_DAYS)`,
      });
    // Redirects are followed by the user's browser; notify_url is called by Mailroom, so it must
    // also pass the destination policy (WEBHOOK_ALLOW_PRIVATE_ADDRESSES).
    if (input.successRedirectUrl !== undefined)
      this.d.destinations.url(input.successRedirectUrl, "success_redirect_url");
    if (input.failureRedirectUrl !== undefined)
      this.d.destinations.url(input.failureRedirectUrl, "failure_redirect_url");
    if (input.notifyUrl !== undefined) await this.d.destinations.callable(input.notifyUrl, "notify_url");
    let reconnect: string | null = null;
    if (input.type === "reconnect") {
      if (!input.reconnectAccount)
        throw new AppError("invalid_parameters", {
          detail: "reconnect_account: required when type is reconnect",
        });
      const account = await this.d.accounts.findById(input.reconnectAccount);
      if (!account)
        throw new AppError("resource_not_found", {
          detail: `reconnect_account: account ${input.reconnectAccount} not found`,
        });
      reconnect = account.id;
    }
    const token = randomBytes(32).toString("base64url");
    const id = newId();
    await this.d.repo.insertLink({
      id,
      token_hash: hashToken(token),
      type: input.type,
      reconnect_account_id: reconnect,
      name: input.name ?? null,
      notify_url: input.notifyUrl ?? null,
      success_redirect_url: input.successRedirectUrl ?? null,
      failure_redirect_url: input.failureRedirectUrl ?? null,
      bypass_success_screen: input.bypassSuccessScreen ? 1 : 0,
      expires_at: expiresAt,
      used_at: null,
      account_id: null,
      created_at: now,
    });
    return { url: `${this.d.publicUrl}/hosted/connect/${token}`, id, expiresAt };
  }

  /** The link behind a wizard URL, or why it can no longer be used. */
  async openLink(
    token: string,
  ): Promise<{ link: HostedLinkRow } | { failure: CallbackOutcome & { kind: "failure" } }> {
    const link = await this.d.repo.findLinkByTokenHash(hashToken(token));
    if (!link) {
      return {
        failure: {
          kind: "failure",
          reason: "expired_link",
          link: undefined,
          message: "This connection link is not valid. Ask for a new one.",
        },
      };
    }
    if (link.used_at !== null) {
      return {
        failure: {
          kind: "failure",
          reason: "used_link",
          link,
          accountId: link.account_id ?? undefined,
          message: "This connection link was already used. Ask for a new one to connect another mailbox.",
        },
      };
    }
    if (link.expires_at <= this.d.clock.now()) {
      return {
        failure: {
          kind: "failure",
          reason: "expired_link",
          link,
          message: "This connection link has expired. Ask for a new one.",
        },
      };
    }
    return { link };
  }

  async reconnectEmail(link: HostedLinkRow): Promise<string | undefined> {
    return link.reconnect_account_id
      ? (await this.d.accounts.findById(link.reconnect_account_id))?.email
      : undefined;
  }

  /** Starts the Microsoft sign-in: returns where to send the browser and the attempt id to bind to it. */
  async startMicrosoft(link: HostedLinkRow): Promise<{ authorizeUrl: string; attemptId: string }> {
    const app = await this.d.settings.app();
    const state = randomBytes(32).toString("base64url");
    const nonce = randomBytes(16).toString("base64url");
    const pkce = newPkce();
    const now = this.d.clock.now();
    const attemptId = newId();
    await this.d.repo.insertAttempt({
      id: attemptId,
      state_hash: hashToken(state),
      link_id: link.id,
      nonce,
      code_verifier: this.d.secrets.encrypt(pkce.verifier),
      redirect_uri: this.redirectUri,
      created_at: now,
      expires_at: now + ATTEMPT_TTL_MS,
      completed_at: null,
    });
    let loginHint: string | undefined;
    if (link.type === "reconnect" && link.reconnect_account_id) {
      loginHint = (await this.d.accounts.findById(link.reconnect_account_id))?.email;
    }
    return {
      attemptId,
      authorizeUrl: authorizeUrl({ loginUrl: this.d.loginUrl }, app, {
        redirectUri: this.redirectUri,
        state,
        nonce,
        codeChallenge: pkce.challenge,
        loginHint,
      }),
    };
  }

  async handleCallback(
    query: Record<string, string | undefined>,
    boundAttemptId: string | undefined,
  ): Promise<CallbackOutcome> {
    const state = query.state;
    const attempt = state ? await this.d.repo.findAttemptByStateHash(hashToken(state)) : undefined;
    if (!attempt) {
      return {
        kind: "failure",
        reason: "invalid_state",
        link: undefined,
        message:
          "This sign-in could not be matched to a connection request. Start again from the link you were given.",
      };
    }
    const link = await this.d.repo.findLink(attempt.link_id);
    if (!link)
      return {
        kind: "failure",
        reason: "expired_link",
        link: undefined,
        message: "This connection link is no longer valid.",
      };
    const fail = (
      reason: FailureReason,
      message: string,
      extra: Partial<CallbackOutcome & { kind: "failure" }> = {},
    ): CallbackOutcome => ({
      kind: "failure",
      reason,
      link,
      accountId: link.reconnect_account_id ?? undefined,
      message,
      ...extra,
    });
    // Binding to the browser that started the attempt stops a forged callback from logging a victim
    // into an attacker's mailbox (RFC 9700 §4.7).
    if (boundAttemptId !== attempt.id) {
      return fail(
        "invalid_state",
        "This sign-in was started in another browser or has already finished. Start again from your link.",
      );
    }
    if (
      attempt.expires_at <= this.d.clock.now() ||
      !(await this.d.repo.completeAttempt(attempt.id, this.d.clock.now()))
    ) {
      return fail(
        "invalid_state",
        "This sign-in has expired or was already used. Start again from your link.",
      );
    }
    if (link.used_at !== null) return fail("used_link", "This connection link was already used.");
    if (link.expires_at <= this.d.clock.now())
      return fail("expired_link", "This connection link has expired. Ask for a new one.");

    if (query.error) return await this.authorizeError(query, fail);
    if (!query.code) return fail("provider_error", "Microsoft did not return an authorization code.");

    let app: Awaited<ReturnType<MicrosoftSettingsService["app"]>>;
    try {
      app = await this.d.settings.app();
    } catch {
      this.d.log.error(
        "A user reached the hosted auth callback but Microsoft OAuth is not configured (Settings → Microsoft OAuth).",
      );
      return fail("app_misconfigured", "This service is not set up to connect Microsoft accounts yet.");
    }
    let tokens: TokenSet;
    try {
      tokens = await this.d.tokens.redeemCode(app, {
        code: query.code,
        redirectUri: attempt.redirect_uri,
        codeVerifier: this.d.secrets.decrypt(attempt.code_verifier),
      });
      if (!tokens.refreshToken)
        throw new IdentityError(
          "invalid_response",
          "Microsoft returned no refresh token (offline_access not granted)",
          {},
        );
    } catch (error) {
      return this.tokenFailure(error, fail);
    }

    const found = await identifyMailbox(this.d, tokens, { clientId: app.clientId, nonce: attempt.nonce });
    if (!found.ok) {
      if (found.reason === "no_mailbox") {
        return fail(
          "no_mailbox",
          `${found.email} has no Outlook mailbox that can be connected. Use an account with an Exchange Online or Outlook.com mailbox.`,
        );
      }
      if (found.reason === "graph_failed") {
        this.d.log.warn({ err: found.error }, "Reading the signed-in user from Graph failed during connect");
        return fail(
          "provider_error",
          "Microsoft could not be reached to finish connecting your mailbox. Please try again in a minute.",
        );
      }
      return this.tokenFailure(found.error, fail);
    }
    return this.storeAccount(link, found.identity, tokens, fail);
  }

  private async storeAccount(
    link: HostedLinkRow,
    identity: MailboxIdentity,
    tokens: TokenSet,
    fail: (reason: FailureReason, message: string) => CallbackOutcome,
  ): Promise<CallbackOutcome> {
    const now = this.d.clock.now();
    const result = await saveConnectedMailbox(
      { accounts: this.d.accounts, secrets: this.d.secrets, clock: this.d.clock },
      identity,
      tokens,
      {
        reconnectAccountId: link.type === "reconnect" ? (link.reconnect_account_id ?? "") : undefined,
        beforeWrite: (accountId) => this.d.repo.claimLink(link.id, now, accountId),
      },
    );
    if (!result.ok) {
      if (result.reason === "wrong_account") {
        const expected = result.expected?.email ?? "the mailbox this link reconnects";
        return fail(
          "wrong_account",
          `You signed in as ${identity.email}, but this link reconnects ${expected}. Sign in with ${expected}.`,
        );
      }
      if (result.reason === "account_not_found")
        return fail("expired_link", "The account to reconnect no longer exists.");
      return fail("used_link", "This connection link was already used.");
    }
    const { account, status } = result;
    this.d.log.info(
      { accountId: account.id, status, tenantId: identity.tenantId },
      status === "RECONNECTED" ? "Mailbox reconnected" : "Mailbox connected",
    );
    await this.d.events.accountConnected({ account, status, link });
    return { kind: "success", link: { ...link, used_at: now, account_id: account.id }, account, status };
  }

  private async authorizeError(
    query: Record<string, string | undefined>,
    fail: (
      reason: FailureReason,
      message: string,
      extra?: Partial<CallbackOutcome & { kind: "failure" }>,
    ) => CallbackOutcome,
  ): Promise<CallbackOutcome> {
    const description = query.error_description ?? "";
    const aadsts = Number(/AADSTS(\d+)/.exec(description)?.[1]) || undefined;
    const problem = appProblem(aadsts);
    if (problem === "admin_consent_required" || aadsts === 65001) {
      const app = await this.d.settings.app().catch(() => undefined);
      return fail(
        "admin_consent_required",
        "Your organisation requires an administrator to approve this app before you can connect your mailbox.",
        {
          adminConsentUrl: app ? this.adminConsentLink(app.clientId, app.extraScopes) : undefined,
        },
      );
    }
    if (aadsts === 65004 || query.error === "consent_required") {
      return fail(
        "consent_declined",
        "You declined the permissions this app needs, so your mailbox was not connected.",
      );
    }
    if (query.error === "access_denied") {
      if (/denied access to the scope/i.test(description))
        return fail(
          "consent_declined",
          "You declined the permissions this app needs, so your mailbox was not connected.",
        );
      if (aadsts === 50020)
        return fail("wrong_tenant", "This account cannot sign in to this app's organisation.");
      return fail("user_cancelled", "You cancelled signing in, so your mailbox was not connected.");
    }
    if (problem) {
      this.d.log.error(
        { aadsts, error: query.error },
        `Microsoft refused the sign-in because of the app registration (${problem}): ${description.split(/\r?\n/)[0]}`,
      );
      return fail(
        "app_misconfigured",
        "This service's Microsoft app is misconfigured, so your mailbox could not be connected. The operator has been told what to fix.",
      );
    }
    this.d.log.warn(
      { error: query.error, aadsts },
      `Microsoft returned an error to the hosted auth callback: ${description.split(/\r?\n/)[0]}`,
    );
    return fail("provider_error", "Microsoft could not complete the sign-in. Please try again.");
  }

  private tokenFailure(
    error: unknown,
    fail: (reason: FailureReason, message: string) => CallbackOutcome,
  ): CallbackOutcome {
    if (!(error instanceof IdentityError)) throw error;
    if (error.kind === "app_misconfigured") {
      this.d.log.error(
        { details: error.details },
        `Microsoft rejected the app's credentials while connecting a mailbox: ${error.message}. Fix them in Settings → Microsoft OAuth.`,
      );
      void this.d.settings
        .reportAppProblem(appProblem(error.details.aadsts) ?? "app_misconfigured", error.message)
        .catch(() => {});
      return fail(
        "app_misconfigured",
        "This service's Microsoft app is misconfigured, so your mailbox could not be connected. The operator has been told what to fix.",
      );
    }
    if (error.kind === "unavailable")
      return fail("provider_error", "Microsoft could not be reached. Please try again in a minute.");
    this.d.log.warn({ err: error, details: error.details }, "The Microsoft sign-in could not be completed");
    return fail(
      "provider_error",
      "Microsoft could not complete the sign-in. Please start again from your link.",
    );
  }

  /** Where a tenant admin approves the app for the whole organisation; it returns to the callback. */
  adminConsentLink(clientId: string, extraScopes: string[], tenant?: string): string {
    return adminConsentUrl(
      { loginUrl: this.d.loginUrl },
      { clientId, extraScopes },
      { tenant, redirectUri: this.redirectUri },
    );
  }
}

export { GraphCallError };
