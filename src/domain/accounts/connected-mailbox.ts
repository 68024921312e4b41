// Stores a mailbox that just proved it can sign in (hosted wizard or native connect). One mailbox is
// one account: Microsoft's (tenant id, object id) is the key, so connecting again updates it.

import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { newId } from "../../lib/ids.ts";
import type { TokenSet } from "../../providers/microsoft/identity.ts";
import type { AccountRepository, AccountRow } from "../../storage/repositories/account.repository.ts";

export interface MailboxIdentity {
  tenantId: string;
  /** `oid` from the id_token (or `sub` when absent). */
  objectId: string;
  email: string;
}

export type SaveMailboxResult =
  | { ok: true; account: AccountRow; status: "CREATION_SUCCESS" | "RECONNECTED" }
  | { ok: false; reason: "wrong_account" | "account_not_found"; expected?: AccountRow };

export async function saveConnectedMailbox(
  deps: { accounts: AccountRepository; secrets: SecretBox; clock: Clock },
  identity: MailboxIdentity,
  tokens: TokenSet,
  options: {
    /** Reconnect: the signed-in mailbox must be this account's. */
    reconnectAccountId?: string | undefined;
    /** Runs before anything is written (e.g. claim a single-use link); false aborts. */
    beforeWrite?: (accountId: string) => Promise<boolean>;
  } = {},
): Promise<SaveMailboxResult | { ok: false; reason: "aborted" }> {
  const now = deps.clock.now();
  const tokenFields = {
    access_token: deps.secrets.encrypt(tokens.accessToken),
    refresh_token: tokens.refreshToken ? deps.secrets.encrypt(tokens.refreshToken) : null,
    access_token_expires_at: tokens.expiresAt,
    scopes: tokens.scopes.join(" "),
  };
  if (options.reconnectAccountId) {
    const target = await deps.accounts.findById(options.reconnectAccountId);
    if (!target) return { ok: false, reason: "account_not_found" };
    if (target.tenant_id !== identity.tenantId || target.provider_user_id !== identity.objectId) {
      return { ok: false, reason: "wrong_account", expected: target };
    }
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const existing = await deps.accounts.findByMailbox(identity.tenantId, identity.objectId);
    const id = existing?.id ?? newId();
    if (options.beforeWrite && attempt === 0 && !(await options.beforeWrite(id)))
      return { ok: false, reason: "aborted" };
    const patch = {
      ...tokenFields,
      refresh_token: tokenFields.refresh_token ?? existing?.refresh_token ?? null,
      email: identity.email,
      status: "OK",
      status_reason: null,
      updated_at: now,
    };
    if (existing) {
      await deps.accounts.update(existing.id, patch);
      return { ok: true, account: { ...existing, ...patch }, status: "RECONNECTED" };
    }
    const account: AccountRow = {
      id,
      type: "OUTLOOK",
      name: identity.email,
      provider_user_id: identity.objectId,
      tenant_id: identity.tenantId,
      created_at: now,
      ...patch,
    } as AccountRow;
    try {
      await deps.accounts.insert(account);
      return { ok: true, account, status: "CREATION_SUCCESS" };
    } catch (error) {
      // The same mailbox connected concurrently (unique index): update the winner's row instead.
      if (attempt === 0 && (await deps.accounts.findByMailbox(identity.tenantId, identity.objectId)))
        continue;
      throw error;
    }
  }
  throw new Error("unreachable");
}
