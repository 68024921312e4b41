// POST /api/v1/accounts with tokens the operator already holds (Unipile's native Outlook connect).
// The tokens must belong to the operator's Azure app: Mailroom proves they work by redeeming the
// refresh token (which also yields an id_token naming the mailbox) before it accepts them.

import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import {
  IdentityError,
  type IdTokenValidator,
  type TokenClient,
} from "../../providers/microsoft/identity.ts";
import type { AccountRepository, AccountRow } from "../../storage/repositories/account.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { MicrosoftSettingsService } from "../settings/microsoft-settings.service.ts";
import type { AccountEventRecorder } from "./account-events.ts";
import { saveConnectedMailbox } from "./connected-mailbox.ts";
import { identifyMailbox } from "./identify-mailbox.ts";

export interface NativeConnectInput {
  accessToken: string;
  refreshToken: string;
  username?: string | undefined;
}

export class NativeConnectService {
  constructor(
    private readonly d: {
      accounts: AccountRepository;
      settings: MicrosoftSettingsService;
      tokens: TokenClient;
      idTokens: IdTokenValidator;
      secrets: SecretBox;
      /** The account and its CREATION_SUCCESS/RECONNECTED event are written in one unit of work. */
      transaction: UnitOfWorkRunner;
      events: AccountEventRecorder;
      clock: Clock;
      log: Logger;
      graphUrl: string;
      fetch?: typeof fetch;
    },
  ) {}

  async connect(
    input: NativeConnectInput,
    reconnectAccountId?: string,
  ): Promise<{ account: AccountRow; status: "CREATION_SUCCESS" | "RECONNECTED" }> {
    if (reconnectAccountId && !(await this.d.accounts.findById(reconnectAccountId))) {
      throw new AppError("resource_not_found", { detail: `Account ${reconnectAccountId} not found` });
    }
    const app = await this.d.settings.app();
    let tokens: Awaited<ReturnType<TokenClient["refresh"]>>;
    try {
      tokens = await this.d.tokens.refresh(app, input.refreshToken);
    } catch (error) {
      if (!(error instanceof IdentityError)) throw error;
      if (error.kind === "unavailable") {
        throw new AppError("service_unavailable", {
          detail: "Microsoft's token endpoint is unreachable; retry shortly.",
          retryAfterSeconds: 30,
          cause: error,
        });
      }
      if (error.kind === "app_misconfigured") {
        throw new AppError("service_unavailable", {
          detail: `Microsoft rejected this installation's app credentials (${error.message}). Fix them in Settings → Microsoft OAuth.`,
          cause: error,
        });
      }
      throw new AppError("invalid_credentials", {
        detail: `Microsoft rejected the refresh token${error.details.aadsts ? ` (AADSTS${error.details.aadsts})` : ""}. Tokens must be issued to this installation's Azure app, with offline_access and the mail scopes Mailroom requests (Mail.ReadWrite, Mail.Send, Mail.Read, User.Read).`,
        cause: error,
      });
    }
    const found = await identifyMailbox(this.d, tokens, {
      clientId: app.clientId,
      fallbackEmail: input.username,
    });
    if (!found.ok) {
      if (found.reason === "no_id_token") {
        throw new AppError("invalid_credentials", {
          detail:
            "The refresh did not return an id_token: the tokens must have been granted the openid and profile scopes.",
        });
      }
      if (found.reason === "invalid_id_token") {
        throw new AppError("invalid_credentials", {
          detail: "Microsoft's id_token for these tokens did not validate.",
          cause: found.error,
        });
      }
      if (found.reason === "graph_failed") {
        throw new AppError("provider_error", {
          detail: "Reading the mailbox owner from Microsoft Graph failed.",
          cause: found.error,
        });
      }
      throw new AppError("insufficient_permissions", {
        detail: `${found.email} has no Outlook mailbox that can be connected.`,
      });
    }
    const { identity } = found;
    const result = await saveConnectedMailbox(
      {
        transaction: this.d.transaction,
        events: this.d.events,
        secrets: this.d.secrets,
        clock: this.d.clock,
      },
      identity,
      tokens.refreshToken ? tokens : { ...tokens, refreshToken: input.refreshToken },
      { reconnectAccountId },
    );
    if (!result.ok) {
      if (result.reason === "wrong_account") {
        throw new AppError("wrong_account", {
          detail: `These tokens belong to ${identity.email}, not to ${result.expected?.email ?? "this account"}.`,
        });
      }
      throw new AppError("resource_not_found", { detail: `Account ${reconnectAccountId} not found` });
    }
    this.d.log.info(
      { accountId: result.account.id, status: result.status },
      "Mailbox connected with existing tokens",
    );
    return result;
  }
}
