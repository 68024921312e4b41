// Opening a shared mailbox (sales@, support@) through a connected user (docs/shared-mailboxes.md).
// Nobody signs into a shared mailbox: a user holding FullAccess on it reaches it through Graph
// `/users/{address}/…` with their own token and the `.Shared` scopes. The new account holds no tokens;
// `delegate_account_id` names the account whose sign-in opens it (token-manager.ts resolves both).
// Graph answers a missing scope and a missing grant alike (403 ErrorAccessDenied), so which one is
// missing is read from the scopes the user consented to at sign-in.
import type { Clock } from "../../lib/clock.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { Logger } from "../../lib/logger.ts";
import type { GraphRequest } from "../../providers/microsoft/graph-client.ts";
import type { AccountRepository, AccountRow } from "../../storage/repositories/account.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { AccountEventRecorder } from "./account-events.ts";

export interface SharedMailboxDeps {
  accounts: AccountRepository;
  graph: { json<T>(accountId: string, request: GraphRequest): Promise<T> };
  settings: { get(): Promise<{ sharedMailboxes: boolean } | null> };
  transaction: UnitOfWorkRunner;
  events: AccountEventRecorder;
  clock: Clock;
  log: Logger;
}

const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const READ_SCOPES = ["Mail.ReadWrite.Shared", "Mail.Read.Shared"];
const TURN_ON =
  "Turn on shared mailboxes in the dashboard (Settings → Microsoft OAuth) or with `npx mailroom settings microsoft --shared-mailboxes on`, add the delegated permissions Mail.ReadWrite.Shared and Mail.Send.Shared to the Azure app";

/** The account of the shared mailbox (existing or new); `created` false when it was already open. */
export async function openSharedMailbox(
  d: SharedMailboxDeps,
  delegateId: string,
  rawEmail: string,
): Promise<{ accountId: string; created: boolean }> {
  const email = rawEmail.trim().toLowerCase();
  if (!ADDRESS.test(email) || email.length > 320)
    throw new AppError("invalid_parameters", { detail: "email: must be the shared mailbox's address." });
  const delegate = await d.accounts.findById(delegateId);
  if (!delegate) throw new AppError("resource_not_found", { detail: `Account ${delegateId} not found` });
  if (delegate.delegate_account_id) {
    throw new AppError("invalid_parameters", {
      detail: `Account ${delegateId} is itself a shared mailbox; open shared mailboxes through the account of a user who signs in (${delegate.delegate_account_id}).`,
    });
  }
  if (email === delegate.email.toLowerCase()) {
    throw new AppError("invalid_parameters", {
      detail: `${email} is the connected user's own mailbox, already account ${delegate.id}.`,
    });
  }
  if (!(await d.settings.get())?.sharedMailboxes) {
    throw new AppError("insufficient_permissions", {
      detail: `Shared mailboxes are off. ${TURN_ON}, then have ${delegate.email} reconnect.`,
    });
  }
  // One mailbox is one account, whoever opened it first.
  const existing = await d.accounts.findByMailbox(delegate.tenant_id ?? "", email);
  if (existing) return { accountId: existing.id, created: false };

  await checkAccess(d, delegate, email);
  const now = d.clock.now();
  const row = sharedAccountRow(delegate, email, now);
  const created = await d.transaction(async (uow) => {
    if (!(await uow.accounts.insertIfNew(row))) return false;
    await d.events.record(uow, { accountId: row.id, type: "CREATION_SUCCESS" });
    return true;
  });
  if (!created) {
    // Opened concurrently: the first one stands.
    const winner = await d.accounts.findByMailbox(delegate.tenant_id ?? "", email);
    if (winner) return { accountId: winner.id, created: false };
  }
  d.log.info(
    { accountId: row.id, delegateId: delegate.id },
    "Shared mailbox opened through a connected user",
  );
  return { accountId: row.id, created: true };
}

/** The mailbox's Inbox through the user's token: what every later call needs to work. */
async function checkAccess(d: SharedMailboxDeps, delegate: AccountRow, email: string): Promise<void> {
  try {
    await d.graph.json(delegate.id, {
      path: `/users/${encodeURIComponent(email)}/mailFolders/inbox`,
      query: { $select: "id" },
    });
  } catch (error) {
    throw explain(error, delegate, email);
  }
}

function explain(error: unknown, delegate: AccountRow, email: string): unknown {
  if (!(error instanceof AppError)) return error;
  const graphCode = (error.cause as { graphCode?: string } | undefined)?.graphCode;
  if (
    graphCode === "ErrorInvalidUser" ||
    graphCode === "ResourceNotFound" ||
    error.code === "resource_not_found"
  ) {
    return new AppError("resource_not_found", {
      detail: `Microsoft knows no mailbox ${email} in ${delegate.email}'s organisation.`,
      cause: error,
    });
  }
  if (graphCode === "MailboxNotEnabledForRESTAPI") {
    return new AppError("resource_not_found", {
      detail: `${email} has no Exchange Online mailbox Graph can open (inactive, unlicensed, soft-deleted or on-premises).`,
      cause: error,
    });
  }
  if (error.code !== "insufficient_permissions") return error;
  const scopes = (delegate.scopes ?? "").split(" ");
  if (!READ_SCOPES.some((scope) => scopes.includes(scope))) {
    return new AppError("insufficient_permissions", {
      detail: `Scope missing: ${delegate.email} signed in without Mail.ReadWrite.Shared, so Microsoft refuses any other mailbox. ${TURN_ON} (an admin may need to consent again), then have ${delegate.email} reconnect.`,
      cause: error,
    });
  }
  return new AppError("insufficient_permissions", {
    detail: `Grant missing: ${delegate.email} has no Full Access to ${email}. An Exchange admin grants it (Exchange admin center → Mailboxes → ${email} → Delegation → Read and manage, or Add-MailboxPermission -Identity ${email} -User ${delegate.email} -AccessRights FullAccess; Send As to send from it), which Microsoft may take up to an hour to apply.`,
    cause: error,
  });
}

function sharedAccountRow(delegate: AccountRow, email: string, now: number) {
  return {
    id: newId(),
    type: "OUTLOOK",
    name: email,
    email,
    // Graph does not tell a delegate the mailbox's object id without a directory scope: within the
    // tenant, the address names it.
    provider_user_id: email,
    tenant_id: delegate.tenant_id,
    status: "OK",
    status_reason: null,
    access_token: null,
    refresh_token: null,
    access_token_expires_at: null,
    scopes: null,
    created_at: now,
    updated_at: now,
    delegate_account_id: delegate.id,
  };
}
