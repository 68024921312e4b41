// Stores a mailbox that just proved it can sign in (hosted wizard or native connect). One mailbox is
// one account: Microsoft's (tenant id, object id) is the key, so connecting again updates it.

import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { newId } from "../../lib/ids.ts";
import type { TokenSet } from "../../providers/microsoft/identity.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { UnitOfWork, UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { AccountEventRecorder } from "./account-events.ts";

export interface MailboxIdentity {
  tenantId: string;
  /** `oid` from the id_token (or `sub` when absent). */
  objectId: string;
  email: string;
}

export type SaveMailboxResult =
  | { ok: true; account: AccountRow; status: "CREATION_SUCCESS" | "RECONNECTED" }
  | { ok: false; reason: "wrong_account" | "account_not_found"; expected?: AccountRow };

export interface SaveMailboxDeps {
  transaction: UnitOfWorkRunner;
  events: AccountEventRecorder;
  secrets: SecretBox;
  clock: Clock;
}

/** The hosted link was used by another sign-in first: the whole unit of work is rolled back. */
class LinkAlreadyUsed extends Error {}

/**
 * In one unit of work: the account (inserted, or updated when the mailbox is known), the hosted link
 * claimed for it, and the CREATION_SUCCESS or RECONNECTED event with its fan-out job. Either all of it
 * is stored or none of it.
 */
export async function saveConnectedMailbox(
  deps: SaveMailboxDeps,
  identity: MailboxIdentity,
  tokens: TokenSet,
  options: {
    /** Reconnect: the signed-in mailbox must be this account's. */
    reconnectAccountId?: string | undefined;
    /** The single-use hosted link this sign-in came through; "aborted" when it was already used. */
    linkId?: string | undefined;
  } = {},
): Promise<SaveMailboxResult | { ok: false; reason: "aborted" }> {
  const now = deps.clock.now();
  const patch = {
    access_token: deps.secrets.encrypt(tokens.accessToken),
    access_token_expires_at: tokens.expiresAt,
    scopes: tokens.scopes.join(" "),
    email: identity.email,
    status: "OK",
    status_reason: null,
    // A new sign-in ends any refresh cooldown at once, with the tokens that make it moot (FL-5).
    refresh_failures: null,
    refresh_retry_at: null,
    updated_at: now,
  };
  const refreshToken = tokens.refreshToken ? deps.secrets.encrypt(tokens.refreshToken) : null;
  try {
    return await deps.transaction(async (uow): Promise<SaveMailboxResult> => {
      if (options.reconnectAccountId) {
        const target = await uow.accounts.findById(options.reconnectAccountId);
        if (!target) return { ok: false, reason: "account_not_found" };
        if (target.tenant_id !== identity.tenantId || target.provider_user_id !== identity.objectId) {
          return { ok: false, reason: "wrong_account", expected: target };
        }
      }
      const saved = await upsertMailbox(uow, identity, { ...patch, refresh_token: refreshToken }, now);
      if (options.linkId && !(await uow.hostedAuth.claimLink(options.linkId, now, saved.account.id)))
        throw new LinkAlreadyUsed();
      const status = saved.existed ? "RECONNECTED" : "CREATION_SUCCESS";
      await deps.events.record(uow, {
        accountId: saved.account.id,
        type: status,
        ...(options.linkId ? { linkId: options.linkId } : {}),
      });
      // Shared mailboxes it opened were disconnected with it (token-manager.ts): they are back too.
      if (saved.existed) {
        for (const sharedId of await uow.accounts.setOpenedThroughStatus(saved.account.id, "OK", null, now))
          await deps.events.record(uow, { accountId: sharedId, type: "RECONNECTED" });
      }
      return { ok: true, account: saved.account, status };
    });
  } catch (error) {
    if (error instanceof LinkAlreadyUsed) return { ok: false, reason: "aborted" };
    throw error;
  }
}

async function upsertMailbox(
  uow: UnitOfWork,
  identity: MailboxIdentity,
  patch: Partial<Omit<AccountRow, "id" | "created_at">> & { refresh_token: string | null },
  now: number,
): Promise<{ account: AccountRow; existed: boolean }> {
  const update = async (existing: AccountRow) => {
    // A sign-in without a refresh token keeps the stored one.
    const fields = { ...patch, refresh_token: patch.refresh_token ?? existing.refresh_token };
    await uow.accounts.update(existing.id, fields);
    return { account: { ...existing, ...fields }, existed: true };
  };
  const existing = await uow.accounts.findByMailbox(identity.tenantId, identity.objectId);
  if (existing) return update(existing);
  const account = {
    id: newId(),
    type: "OUTLOOK",
    name: identity.email,
    provider_user_id: identity.objectId,
    tenant_id: identity.tenantId,
    created_at: now,
    last_refreshed_at: null,
    refresh_lock_owner: null,
    refresh_lock_until: null,
    ...patch,
  } as AccountRow;
  if (await uow.accounts.insertIfNew(account)) return { account, existed: false };
  // The same mailbox was connected concurrently and committed first (unique index): update its row.
  const winner = await uow.accounts.findByMailbox(identity.tenantId, identity.objectId);
  if (!winner) throw new Error("The account of a mailbox vanished while it was being connected");
  return update(winner);
}
