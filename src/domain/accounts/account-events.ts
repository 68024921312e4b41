// Outcome hooks: connect and token refresh report what happened to an account here, and whoever
// delivers notifications (notify_url callbacks, account_status webhooks) listens. Refresh and
// connect logic never call webhooks themselves.
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { HostedLinkRow } from "../../storage/repositories/hosted-auth.repository.ts";

export type AccountStatusMessage =
  | "OK"
  | "CREDENTIALS"
  | "ERROR"
  | "STOPPED"
  | "CONNECTING"
  | "CREATION_SUCCESS"
  | "RECONNECTED"
  | "DELETED";

export interface AccountEvents {
  accountConnected(event: {
    account: AccountRow;
    status: "CREATION_SUCCESS" | "RECONNECTED";
    link: HostedLinkRow | undefined;
  }): Promise<void>;
  accountStatusChanged(event: {
    account: AccountRow;
    message: AccountStatusMessage;
    reason?: string | undefined;
  }): Promise<void>;
}

/** Fans one event out to several listeners; a failing listener never fails the caller. */
export class AccountEventHub implements AccountEvents {
  private readonly listeners: AccountEvents[] = [];

  constructor(private readonly onError: (error: unknown) => void) {}

  add(listener: AccountEvents): void {
    this.listeners.push(listener);
  }

  async accountConnected(event: Parameters<AccountEvents["accountConnected"]>[0]): Promise<void> {
    for (const l of this.listeners) await l.accountConnected(event).catch(this.onError);
  }

  async accountStatusChanged(event: Parameters<AccountEvents["accountStatusChanged"]>[0]): Promise<void> {
    for (const l of this.listeners) await l.accountStatusChanged(event).catch(this.onError);
  }
}
