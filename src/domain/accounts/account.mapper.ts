// Unipile's `sources[].status` values are one list, shared with the dashboard.
import type { AccountStatus } from "../../contracts/dashboard/accounts.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";

export interface UnipileAccount {
  object: "Account";
  type: "OUTLOOK";
  id: string;
  name: string;
  created_at: string;
  connection_params: { mail: { id: string; username: string }; calendar: { id: string; username: string } };
  groups: string[];
  sources: { id: string; status: AccountStatus }[];
  /** Mailroom extra (ignored by Unipile's validators): why the account is not OK. */
  status_reason?: string;
  /**
   * Mailroom extension (docs/shared-mailboxes.md): a shared mailbox names the connected account whose
   * sign-in reaches it. Absent for a mailbox that signed in itself.
   */
  reached_through?: { account_id: string; username: string };
}

/** `delegates`: the addresses of the accounts shared mailboxes are reached through, by id. */
export function toUnipileAccount(row: AccountRow, delegates?: ReadonlyMap<string, string>): UnipileAccount {
  const params = { id: row.provider_user_id, username: row.email };
  const account: UnipileAccount = {
    object: "Account",
    type: "OUTLOOK",
    id: row.id,
    name: row.name,
    created_at: new Date(row.created_at).toISOString(),
    connection_params: { mail: params, calendar: params },
    groups: [],
    sources: [{ id: `${row.id}_MAILS`, status: row.status as AccountStatus }],
  };
  if (row.status_reason) account.status_reason = row.status_reason;
  if (row.delegate_account_id) {
    account.reached_through = {
      account_id: row.delegate_account_id,
      username: delegates?.get(row.delegate_account_id) ?? "",
    };
  }
  return account;
}
