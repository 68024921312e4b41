// The OAuth callback: the attempt and link checks, code redemption, identifying the mailbox, storing
// the account, and the outcome the wizard renders.
import { hashToken } from "../../lib/crypto.ts";
import {
  appProblem,
  IdentityError,
  SHARED_MAILBOX_SCOPES,
  type TokenSet,
} from "../../providers/microsoft/identity.ts";
import type { HostedLinkRow } from "../../storage/repositories/hosted-auth.repository.ts";
import { type MailboxIdentity, saveConnectedMailbox } from "../accounts/connected-mailbox.ts";
import { identifyMailbox } from "../accounts/identify-mailbox.ts";
import type { MicrosoftSettingsService } from "../settings/microsoft-settings.service.ts";
import { APP_MISCONFIGURED_MESSAGE, decideAuthorizeError } from "./authorize-error.ts";
import type { CallbackOutcome, Fail, HostedAuthDeps } from "./types.ts";

export interface CallbackDeps extends HostedAuthDeps {
  /** Where a tenant admin approves the app, for `admin_consent_required`. */
  adminConsentLink(clientId: string, extraScopes: string[]): string;
}

export async function handleCallback(
  d: CallbackDeps,
  query: Record<string, string | undefined>,
  boundAttemptId: string | undefined,
): Promise<CallbackOutcome> {
  const state = query.state;
  const attempt = state ? await d.repo.findAttemptByStateHash(hashToken(state)) : undefined;
  if (!attempt) {
    return {
      kind: "failure",
      reason: "invalid_state",
      link: undefined,
      message:
        "This sign-in could not be matched to a connection request. Start again from the link you were given.",
    };
  }
  const link = await d.repo.findLink(attempt.link_id);
  if (!link)
    return {
      kind: "failure",
      reason: "expired_link",
      link: undefined,
      message: "This connection link is no longer valid.",
    };
  const fail: Fail = (reason, message, extra = {}) => ({
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
  if (attempt.expires_at <= d.clock.now() || !(await d.repo.completeAttempt(attempt.id, d.clock.now()))) {
    return fail("invalid_state", "This sign-in has expired or was already used. Start again from your link.");
  }
  if (link.used_at !== null) return fail("used_link", "This connection link was already used.");
  if (link.expires_at <= d.clock.now())
    return fail("expired_link", "This connection link has expired. Ask for a new one.");

  if (query.error) return await authorizeError(d, query, fail);
  if (!query.code) return fail("provider_error", "Microsoft did not return an authorization code.");

  let app: Awaited<ReturnType<MicrosoftSettingsService["app"]>>;
  try {
    app = await d.settings.app();
  } catch {
    d.log.error(
      "A user reached the hosted auth callback but Microsoft OAuth is not configured (Settings → Microsoft OAuth).",
    );
    return fail("app_misconfigured", "This service is not set up to connect Microsoft accounts yet.");
  }
  let tokens: TokenSet;
  try {
    tokens = await d.tokens.redeemCode(app, {
      code: query.code,
      redirectUri: attempt.redirect_uri,
      codeVerifier: d.secrets.decrypt(attempt.code_verifier),
    });
    if (!tokens.refreshToken)
      throw new IdentityError(
        "invalid_response",
        "Microsoft returned no refresh token (offline_access not granted)",
        {},
      );
  } catch (error) {
    return tokenFailure(d, error, fail);
  }

  const found = await identifyMailbox(d, tokens, { clientId: app.clientId, nonce: attempt.nonce });
  if (!found.ok) {
    if (found.reason === "no_mailbox") {
      return fail(
        "no_mailbox",
        `${found.email} has no Outlook mailbox that can be connected. Use an account with an Exchange Online or Outlook.com mailbox.`,
      );
    }
    if (found.reason === "graph_failed") {
      d.log.warn({ err: found.error }, "Reading the signed-in user from Graph failed during connect");
      return fail(
        "provider_error",
        "Microsoft could not be reached to finish connecting your mailbox. Please try again in a minute.",
      );
    }
    return tokenFailure(d, found.error, fail);
  }
  return storeAccount(d, link, found.identity, tokens, fail);
}

async function storeAccount(
  d: HostedAuthDeps,
  link: HostedLinkRow,
  identity: MailboxIdentity,
  tokens: TokenSet,
  fail: Fail,
): Promise<CallbackOutcome> {
  const now = d.clock.now();
  // The account, the claimed link and the CREATION_SUCCESS/RECONNECTED event (with the job that
  // sends notify_url and webhooks) commit together.
  const result = await saveConnectedMailbox(
    { transaction: d.transaction, events: d.accountEvents, secrets: d.secrets, clock: d.clock },
    identity,
    tokens,
    {
      reconnectAccountId: link.type === "reconnect" ? (link.reconnect_account_id ?? "") : undefined,
      linkId: link.id,
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
  d.log.info(
    { accountId: account.id, status, tenantId: identity.tenantId },
    status === "RECONNECTED" ? "Mailbox reconnected" : "Mailbox connected",
  );
  return { kind: "success", link: { ...link, used_at: now, account_id: account.id }, account, status };
}

async function authorizeError(
  d: CallbackDeps,
  query: Record<string, string | undefined>,
  fail: Fail,
): Promise<CallbackOutcome> {
  const decision = decideAuthorizeError(query);
  const { reason, message, aadsts, problem } = decision;
  const firstLine = (query.error_description ?? "").split(/\r?\n/)[0];
  if (reason === "admin_consent_required") {
    const app = await d.settings.app().catch(() => undefined);
    return fail(reason, message, {
      adminConsentUrl: app
        ? d.adminConsentLink(app.clientId, [
            ...(app.sharedMailboxes ? SHARED_MAILBOX_SCOPES : []),
            ...app.extraScopes,
          ])
        : undefined,
    });
  }
  if (reason === "app_misconfigured") {
    d.log.error(
      { aadsts, error: query.error },
      `Microsoft refused the sign-in because of the app registration (${problem}): ${firstLine}`,
    );
  } else if (reason === "provider_error") {
    d.log.warn(
      { error: query.error, aadsts },
      `Microsoft returned an error to the hosted auth callback: ${firstLine}`,
    );
  }
  return fail(reason, message);
}

function tokenFailure(d: HostedAuthDeps, error: unknown, fail: Fail): CallbackOutcome {
  if (!(error instanceof IdentityError)) throw error;
  if (error.kind === "app_misconfigured") {
    d.log.error(
      { details: error.details },
      `Microsoft rejected the app's credentials while connecting a mailbox: ${error.message}. Fix them in Settings → Microsoft OAuth.`,
    );
    void d.settings
      .reportAppProblem(appProblem(error.details.aadsts) ?? "app_misconfigured", error.message)
      .catch(() => {});
    return fail("app_misconfigured", APP_MISCONFIGURED_MESSAGE);
  }
  if (error.kind === "unavailable")
    return fail("provider_error", "Microsoft could not be reached. Please try again in a minute.");
  d.log.warn({ err: error, details: error.details }, "The Microsoft sign-in could not be completed");
  return fail(
    "provider_error",
    "Microsoft could not complete the sign-in. Please start again from your link.",
  );
}
