// Shapes shared by the hosted connect wizard's parts: what they depend on and what they decide.
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import type { Logger } from "../../lib/logger.ts";
import type { DestinationGuard } from "../../outbound/destination.ts";
import type { IdTokenValidator, TokenClient } from "../../providers/microsoft/identity.ts";
import type { AccountRepository, AccountRow } from "../../storage/repositories/account.repository.ts";
import type {
  HostedAuthRepository,
  HostedLinkRow,
} from "../../storage/repositories/hosted-auth.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { AccountEventRecorder } from "../accounts/account-events.ts";
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

export type FailureOutcome = CallbackOutcome & { kind: "failure" };

/** Builds a failure for the link a callback belongs to. */
export type Fail = (
  reason: FailureReason,
  message: string,
  extra?: Partial<FailureOutcome>,
) => CallbackOutcome;

export interface HostedAuthDeps {
  repo: HostedAuthRepository;
  accounts: AccountRepository;
  settings: MicrosoftSettingsService;
  tokens: TokenClient;
  idTokens: IdTokenValidator;
  secrets: SecretBox;
  /** Connecting writes the account, the claimed link and the account event in one unit of work. */
  transaction: UnitOfWorkRunner;
  accountEvents: AccountEventRecorder;
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
