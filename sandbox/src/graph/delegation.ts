// Who may use which mailbox. A delegated token reaches its own user's mailbox with the plain scopes
// (Mail.Read, Mail.ReadWrite, Mail.Send). Another user's mailbox (a shared mailbox, `/users/{id or
// address}/…`) needs both the `.Shared` scope of the operation and the mailbox permission Exchange
// holds for the signed-in user: FullAccess to open it, SendAs to send from it. Graph answers a
// missing scope and a missing FullAccess grant alike (403 ErrorAccessDenied), and a missing SendAs
// with 403 ErrorSendAsDenied. Sources: learn.microsoft.com/graph/outlook-share-messages-folders,
// /graph/outlook-send-mail-from-other-user (Mail.Send.Shared; "Full Access … in addition to … Send As"
// when sending through `/users/{from user}`).
import type { SandboxState, SandboxUser } from "../state.ts";
import type { HandlerContext } from "./context.ts";
import { GRAPH_MESSAGES, GraphError } from "./errors.ts";
import type { EmailAddress } from "./mailbox-store.ts";

export type Permission = "read" | "write" | "send" | "user";

const OWN_SCOPES: Record<Permission, string[]> = {
  read: ["Mail.Read", "Mail.ReadWrite"],
  write: ["Mail.ReadWrite"],
  send: ["Mail.Send"],
  user: ["User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All"],
};

const OTHER_SCOPES: Record<Permission, string[]> = {
  read: ["Mail.Read.Shared", "Mail.ReadWrite.Shared"],
  write: ["Mail.ReadWrite.Shared"],
  send: ["Mail.Send.Shared"],
  // Another user's profile is a directory read, which User.Read does not cover.
  user: ["User.ReadBasic.All", "User.Read.All", "Directory.Read.All"],
};

export const SEND_AS_DENIED =
  "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account. Cannot submit message.";

/** Throws Graph's 403 unless `caller`'s token (`scopes`) may do `permission` on `owner`'s mailbox. */
export function authorizeMailboxCall(
  state: SandboxState,
  caller: SandboxUser,
  owner: SandboxUser,
  scopes: string[],
  permission: Permission,
): void {
  const isOwn = caller.id === owner.id;
  const needed = (isOwn ? OWN_SCOPES : OTHER_SCOPES)[permission];
  if (!needed.some((scope) => scopes.includes(scope))) {
    if (permission === "user")
      throw new GraphError(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
      );
    throw new GraphError(403, "ErrorAccessDenied", GRAPH_MESSAGES.accessDenied);
  }
  if (isOwn || permission === "user") return;
  if (!state.hasMailboxRight(owner.id, caller.id, "FullAccess"))
    throw new GraphError(403, "ErrorAccessDenied", GRAPH_MESSAGES.accessDenied);
  if (permission === "send" && !state.hasMailboxRight(owner.id, caller.id, "SendAs"))
    throw new GraphError(403, "ErrorSendAsDenied", SEND_AS_DENIED);
}

/**
 * The address a send goes out as: the mailbox's own, or a `from` the signed-in user holds SendAs on
 * (then `sender` is the same address: Send As leaves no trace of the delegate). Any other `from` is
 * 403 ErrorSendAsDenied (outlook-send-mail-from-other-user, example 2). Send on Behalf is not modelled.
 */
export function sendingAddress(
  ctx: HandlerContext,
  requested: EmailAddress | null | undefined,
): EmailAddress {
  const owner = { name: ctx.user.displayName, address: ctx.user.email };
  if (!requested?.address || requested.address.toLowerCase() === owner.address.toLowerCase()) return owner;
  const target = ctx.state.userByEmail(requested.address);
  if (!target?.hasMailbox || !ctx.state.hasMailboxRight(target.id, ctx.caller.id, "SendAs"))
    throw new GraphError(403, "ErrorSendAsDenied", SEND_AS_DENIED);
  return { name: target.displayName, address: target.email };
}
