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
}

export function toUnipileAccount(row: AccountRow): UnipileAccount {
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
  return account;
}
