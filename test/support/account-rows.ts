// An account row as a test inserts it: a connected Outlook mailbox with no tokens, named after its
// id unless the test says otherwise.
import type { NewAccountRow } from "../../src/storage/repositories/account.repository.ts";

export function accountRow(
  fields: Pick<NewAccountRow, "id"> & Partial<NewAccountRow>,
  now: number = Date.now(),
): NewAccountRow {
  return {
    type: "OUTLOOK",
    name: fields.id,
    email: `${fields.id}@contoso.com`,
    provider_user_id: fields.id,
    tenant_id: "t",
    status: "OK",
    status_reason: null,
    access_token: null,
    refresh_token: null,
    access_token_expires_at: null,
    scopes: null,
    created_at: now,
    updated_at: now,
    ...fields,
  };
}
