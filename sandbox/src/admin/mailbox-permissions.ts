// `/_sandbox/mailboxes/{email}/permissions`: what an Exchange admin grants with Add-MailboxPermission
// (FullAccess: open the mailbox) and Add-RecipientPermission (SendAs: send as its address), and
// revokes with the Remove- cmdlets. Graph reads them (graph/delegation.ts); nothing else does.
import type { FastifyInstance } from "fastify";
import type { MailboxRight, SandboxState, SandboxUser } from "../state.ts";
import { asBody, bad, optString, optStringArray } from "./input.ts";

const RIGHTS: readonly MailboxRight[] = ["FullAccess", "SendAs"];

function mailboxOf(state: SandboxState, ref: string): SandboxUser {
  const user = state.users.get(ref) ?? state.userByEmail(ref);
  if (!user?.hasMailbox) bad(`No mailbox '${ref}'.`);
  return user;
}

function delegateOf(state: SandboxState, ref: string | undefined, mailbox: SandboxUser): SandboxUser {
  if (!ref) bad("'user' (email or id of the user who gets the rights) is required.");
  const user = state.users.get(ref) ?? state.userByEmail(ref);
  if (!user) bad(`Unknown user '${ref}'.`);
  if (user.id === mailbox.id) bad("A mailbox's owner holds every right on it already.");
  return user;
}

function rightsOf(raw: string[] | undefined, fallback: readonly MailboxRight[]): MailboxRight[] {
  if (raw === undefined) return [...fallback];
  if (raw.length === 0) bad("'rights' must name at least one right.");
  for (const right of raw)
    if (!(RIGHTS as readonly string[]).includes(right)) bad(`'rights' may hold ${RIGHTS.join(", ")}.`);
  return raw as MailboxRight[];
}

function permissionsJson(state: SandboxState, mailbox: SandboxUser): Record<string, unknown> {
  const grants = state.mailboxPermissions.get(mailbox.id) ?? new Map<string, Set<MailboxRight>>();
  return {
    mailbox: mailbox.email,
    permissions: [...grants].map(([userId, rights]) => ({
      user: state.users.get(userId)?.email ?? userId,
      rights: RIGHTS.filter((right) => rights.has(right)),
    })),
  };
}

export function registerMailboxPermissionRoutes(app: FastifyInstance, state: SandboxState): void {
  app.get<{ Params: { mailbox: string } }>("/_sandbox/mailboxes/:mailbox/permissions", async (req) =>
    permissionsJson(state, mailboxOf(state, req.params.mailbox)),
  );

  app.post<{ Params: { mailbox: string } }>("/_sandbox/mailboxes/:mailbox/permissions", async (req) => {
    const mailbox = mailboxOf(state, req.params.mailbox);
    const body = asBody(req.body);
    const delegate = delegateOf(state, optString(body, "user"), mailbox);
    const rights = rightsOf(optStringArray(body, "rights"), ["FullAccess"]);
    const grants = state.mailboxPermissions.get(mailbox.id) ?? new Map<string, Set<MailboxRight>>();
    const held = grants.get(delegate.id) ?? new Set<MailboxRight>();
    for (const right of rights) held.add(right);
    grants.set(delegate.id, held);
    state.mailboxPermissions.set(mailbox.id, grants);
    return permissionsJson(state, mailbox);
  });

  // The body (or `?user=&rights=A,B`) names what to revoke; without `rights`, every right of that user.
  app.delete<{ Params: { mailbox: string }; Querystring: { user?: string; rights?: string } }>(
    "/_sandbox/mailboxes/:mailbox/permissions",
    async (req) => {
      const mailbox = mailboxOf(state, req.params.mailbox);
      const body = req.body === undefined || req.body === null ? {} : asBody(req.body);
      const delegate = delegateOf(state, optString(body, "user") ?? req.query.user, mailbox);
      const rights = rightsOf(optStringArray(body, "rights") ?? req.query.rights?.split(","), RIGHTS);
      const grants = state.mailboxPermissions.get(mailbox.id);
      const held = grants?.get(delegate.id);
      if (held) {
        for (const right of rights) held.delete(right);
        if (held.size === 0) grants?.delete(delegate.id);
      }
      return permissionsJson(state, mailbox);
    },
  );
}
